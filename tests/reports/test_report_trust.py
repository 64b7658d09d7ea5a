"""Reports say when a map has nothing to show and read the checklist as finding and probability: a
constructed all-zero map goes through the real report writers (PDF, HTML, CSV, PNG) and comes out as
"no positive evidence for <class> in this image", without an overlay or a colour bar beside it; and
`medgrad explain` writes no overlay PNG for an empty map and says why in its JSON."""

from __future__ import annotations

import csv
import json
import re
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from medgrad_desktop.cli import main
from medgrad_desktop.core import explain as core_explain
from medgrad_desktop.core.explain import METHODS, analyze_batch, default_params
from medgrad_desktop.core.imageio import load_image
from medgrad_desktop.core.map_evidence import no_evidence_text
from medgrad_desktop.core.model import ModelLoadError, load_model
from medgrad_desktop.core.text_match import UNMATCHED_TEXT
from medgrad_desktop.reports import ReportOptions
from medgrad_desktop.reports.builder import keep_predicted_maps
from medgrad_desktop.reports.export import export_report
from medgrad_desktop.reports.request import ReportRequest
from medgrad_desktop.resources_path import demo_dir

pypdf = pytest.importorskip("pypdf")


def lesion(seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:150, 0:200]
    blob = np.exp(-(((yy - 75) / 40.0) ** 2 + ((xx - 100) / 55.0) ** 2))
    img = np.array([225, 170, 160]) * (1 - blob[..., None]) + np.array([90, 50, 40]) * blob[..., None]
    return np.clip(img + rng.normal(0, 8, img.shape), 0, 255).astype(np.uint8)


def emptied(result, methods: set[str]):
    """`result` with the predicted class's maps of `methods` all zero: what an empty map looks like."""
    maps = {
        k: replace(h, raw=np.zeros_like(h.raw), normalized=np.zeros_like(h.normalized))
        if k[0] in methods
        else h
        for k, h in result.maps.items()
    }
    return replace(result, maps=maps)


@pytest.fixture(scope="module")
def report(tiny_model, tmp_path_factory):
    root = tmp_path_factory.mktemp("trust")
    paths = []
    for i in range(2):
        paths.append(root / f"case_{i}.png")
        Image.fromarray(lesion(i)).save(paths[-1])
    params = [default_params(m) for m in METHODS]
    results = analyze_batch(
        tiny_model, [load_image(p).rgb for p in paths], tiny_model.catalogue.class_targets(), params
    )
    analyses = {
        1: emptied(keep_predicted_maps(results[0]), {"medgrad"}),  # one of three maps empty
        2: emptied(keep_predicted_maps(results[1]), set(METHODS)),  # all three empty
    }
    out = root / "out"
    done = export_report(
        ReportRequest(
            paths,
            params,
            out,
            formats=("pdf", "html", "csv", "png"),
            options=ReportOptions(deidentify=False),
        ),
        tiny_model,
        analyses=analyses,
    )
    return {"out": out, "content": done.content, "analyses": analyses}


def test_empty_maps_are_said_not_drawn_in_every_format(report):
    content, out = report["content"], report["out"]
    first, second = content.ok_entries
    assert [o.empty for o in first.overlays] == [m == "medgrad" for m in METHODS]
    assert all(o.empty and o.image is None for o in second.overlays)
    label = first.overlays[0].target_label
    said = no_evidence_text(label)
    assert (
        first.overlays[2].no_evidence == said and first.overlays[2].empty_reason == "raw relevance all zero"
    )
    # HTML: the text where the picture would be; a colour bar only beside the image with drawn maps
    page = (out / "report.html").read_text()
    sections = page.split('<section class="page">')[2:4]  # the two image pages
    assert [s.count("no positive evidence for") for s in sections] == [1, 3]
    assert said in sections[0]
    assert [s.count("<img ") for s in sections] == [1 + 2 + 1, 1]  # original, drawn maps, colour bar
    assert "colour bar" in sections[0] and "colour bar" not in sections[1]
    # PDF: the same words on the image pages
    pages = [
        " ".join((p.extract_text() or "").split()) for p in pypdf.PdfReader(str(out / "report.pdf")).pages
    ]
    assert sum("no positive evidence for" in p for p in pages[1:3]) == 2
    assert "relevance" in pages[1] and "1.0 high" in pages[1] and "1.0 high" not in pages[2]
    # CSV: one column per method
    rows = list(csv.DictReader((out / "report.csv").open(newline="")))
    assert [rows[0][f"map_empty_{m}"] for m in METHODS] == ["no", "no", "yes"]
    assert [rows[1][f"map_empty_{m}"] for m in METHODS] == ["yes", "yes", "yes"]
    # PNG: an empty map's file is the original with the words under it, no map and no colour bar
    png = next((out / "report-png").glob("0001_*_medgrad.png"))
    original = next((out / "report-png").glob("0001_*_original.png"))
    a, b = np.asarray(Image.open(png)), np.asarray(Image.open(original))
    assert a.shape[1] == b.shape[1] and a.shape[0] > b.shape[0] and (a[: b.shape[0]] == b).all()
    drawn = np.asarray(Image.open(next((out / "report-png").glob("0001_*_gradcam.png"))))
    assert drawn.shape[1] > b.shape[1]  # a drawn map keeps its colour bar
    # the rule and the blending travel in the provenance
    settings = content.provenance["settings"]
    assert settings["empty_map_rule"]["min_spread"] == 1e-6
    assert settings["overlay_alpha"]["name"] == "ramp"


def test_checklist_reads_as_finding_and_probability_in_every_format(report):
    content, out = report["content"], report["out"]
    rows = content.ok_entries[0].criteria
    assert rows, "the tiny model's catalogue has 7-point criteria"
    page = (out / "report.html").read_text()
    pdf = " ".join(
        " ".join((p.extract_text() or "").split()) for p in pypdf.PdfReader(str(out / "report.pdf")).pages
    )
    for c in rows:
        assert c.text == f"{c.criterion}: {c.option_id.replace('_', ' ')}, " + c.text.rsplit(", ", 1)[1]
        assert c.text.replace("&", "&amp;") in page
        assert c.text in pdf
        if c.option_id == "absent":
            assert f">{c.option}<" not in page  # the bare phrase ("absent blue-whitish veil") is gone


def run_explain(tmp_path: Path, image: Path, *extra: str) -> dict:
    out = tmp_path / "out"
    assert main(["explain", str(image), *extra, "--out", str(out)]) == 0
    return json.loads((out / f"{image.stem}_explain.json").read_text()), out


def test_explain_writes_no_overlay_for_an_empty_map_and_says_why(tmp_path, monkeypatch, capsys):
    image = tmp_path / "lesion.png"
    Image.fromarray(lesion(3)).save(image)
    real = core_explain.analyze

    def with_empty_medgrad(clip, rgb, targets, params, **kw):  # a constructed all-zero MedGrad map
        result = real(clip, rgb, targets, params, **kw)
        return emptied(result, {"medgrad"}) if params else result

    monkeypatch.setattr(core_explain, "analyze", with_empty_medgrad)
    summary, out = run_explain(
        tmp_path, image, "--random-init", "--arch", "MedGrad-Tiny", "--device", "cpu", "--method", "all"
    )
    by_method = {m["method"]: m for m in summary["maps"]}
    empty = by_method["medgrad"]
    assert empty["file"] is None and empty["map_empty"] and empty["empty_reason"] == "raw relevance all zero"
    assert empty["note"].startswith("no overlay written: no positive evidence for ")
    assert not list(out.glob("*_medgrad_*.png"))
    for m in ("gradcam", "grad-eclip"):
        assert not by_method[m]["map_empty"] and (out / by_method[m]["file"]).exists()
    assert summary["empty_map_rule"]["min_spread"] == 1e-6
    assert "(1 empty maps not drawn)" in capsys.readouterr().out


def test_explain_names_words_the_model_never_saw(tmp_path):
    images = sorted(demo_dir().glob("demo_*.png"))
    try:
        load_model(None, device="cpu")
    except ModelLoadError as exc:
        pytest.skip(f"bundled demo model missing: {exc}")
    if not images:
        pytest.skip("bundled demo images missing")
    summary, _ = run_explain(
        tmp_path, images[0], "--device", "cpu", "--method", "gradcam", "--target", "banana"
    )
    (entry,) = summary["maps"]
    ft = entry["free_text"]
    assert entry["target_kind"] == "text" and ft["unknown_words"] == ["banana"] and ft["vocabulary_recorded"]
    assert "the model was never trained on: banana" in ft["warnings"]
    assert ft["matches_image"] == (entry["score"] >= summary["free_text_rule"]["min_score"])
    assert (UNMATCHED_TEXT in ft["warnings"]) == (not ft["matches_image"])
    assert re.search(r"cosine", summary["free_text_rule"]["reason"])
