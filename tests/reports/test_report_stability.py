"""Each map's stability figure in the reports: the PDF, the HTML, the CSV and the PNG captions carry it in
figure and words, the rule's parameters are named once, the project store keeps the same figure, it is
the figure the app's measure (`core.explain.stability.measure_stability`) gives, and a report asked
without it (`ReportOptions(stability=False)`, `medgrad report --no-stability`) has none of it while its
maps, predictions and other figures are byte for byte the same."""

from __future__ import annotations

import csv
import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from medgrad_desktop.core.explain import METHODS, analyze_batch, default_params
from medgrad_desktop.core.explain.stability import measure_stability
from medgrad_desktop.core.imageio import load_image
from medgrad_desktop.core.stability import (
    NO_FIGURE_TEXT,
    STABILITY_RULE,
    STABLE_TEXT,
    UNSTABLE_TEXT,
)
from medgrad_desktop.reports import ReportOptions
from medgrad_desktop.reports.export import export_report
from medgrad_desktop.reports.request import ReportRequest
from medgrad_desktop.store import ProjectStore
from medgrad_desktop.store.memo import StoreMemo
from tests.reports.test_report import lesion_rgb, pdf_pages

pypdf = pytest.importorskip("pypdf")

WORDS = {STABLE_TEXT, UNSTABLE_TEXT, NO_FIGURE_TEXT}


def _images(folder: Path, n: int = 2) -> list[Path]:
    folder.mkdir(parents=True)
    paths = []
    for i in range(n):
        p = folder / f"case_{i}.png"
        Image.fromarray(lesion_rgb(20 + i)).save(p)
        paths.append(p)
    return paths


def _export(paths, out: Path, clip, *, stability: bool, recorder=None, formats=("pdf", "html", "csv", "png")):
    request = ReportRequest(
        paths,
        [default_params(m) for m in METHODS],
        out,
        formats=formats,
        options=ReportOptions(stability=stability),
    )
    return export_report(request, clip, recorder=recorder)


def _rows(path: Path) -> list[dict[str, str]]:
    with open(path, encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


@pytest.fixture(scope="module")
def reports(tiny_model, tmp_path_factory):
    root = tmp_path_factory.mktemp("stability")
    paths = _images(root / "cases")
    store = ProjectStore(root / "store.sqlite3")
    memo = StoreMemo(store)
    on = _export(paths, root / "on", tiny_model, stability=True, recorder=memo.record_analysis)
    off = _export(paths, root / "off", tiny_model, stability=False)
    return {"paths": paths, "on": on, "off": off, "store": store, "root": root, "clip": tiny_model}


def test_the_csv_has_each_maps_figure_and_words_the_apps_measure_gives(reports):
    clip = reports["clip"]
    rows = _rows(reports["root"] / "on" / "report.csv")
    assert len(rows) == 2
    for row, path in zip(rows, reports["paths"], strict=True):
        img = load_image(path)
        target = next(t for t in clip.catalogue.class_targets() if t.key == row["predicted_id"])
        params = [default_params(m) for m in METHODS]
        base = analyze_batch(clip, [img.rgb], clip.catalogue.class_targets(), params)[0]
        maps = [base.get(p.method, target) for p in params]
        expected = measure_stability(clip, img.rgb, target, params, [h.normalized for h in maps])
        for m, h, want in zip(METHODS, maps, expected, strict=True):
            words = row[f"stability_words_{m}"]
            assert words in WORDS
            if h.empty or want is None:
                assert (row[f"stability_{m}"], words) == ("", NO_FIGURE_TEXT)
            else:
                assert float(row[f"stability_{m}"]) == pytest.approx(want, abs=2e-4)
                assert words == STABILITY_RULE.words(want)


def test_the_pdf_and_html_print_each_figure_beside_its_map_and_the_rule_once(reports):
    content = reports["on"].content
    texts = [o.stability_text for e in content.ok_entries for o in e.overlays]
    assert len(texts) == 2 * len(METHODS) and all(t.startswith("Stability: ") for t in texts)
    rule = STABILITY_RULE.parameters_text()
    pages = pdf_pages(reports["root"] / "on" / "report.pdf")
    whole = " ".join(pages)
    for e, page in zip(content.ok_entries, pages[1:], strict=False):  # the cover, then one page per image
        for o in e.overlays:
            assert o.stability_text in page, (o.stability_text, page)
    assert whole.count("Map stability:") == 1
    assert " ".join(f"Map stability: {rule}".split()) in whole
    html = (reports["root"] / "on" / "report.html").read_text(encoding="utf-8")
    for t in texts:
        assert t in html
    assert html.count("Map stability: ") == 1 and "±5/255" in html
    manifest = json.loads((reports["root"] / "on" / "report.manifest.json").read_text(encoding="utf-8"))
    assert manifest["settings"]["stability_rule"] == STABILITY_RULE.to_dict()


def test_the_png_captions_carry_the_figure_under_the_same_picture(reports):
    for e in reports["on"].content.ok_entries:
        for o in e.overlays:
            if o.image is None:
                continue
            name = f"{e.label}_{o.method}.png"
            on = np.asarray(Image.open(reports["root"] / "on" / "report-png" / name))
            off = np.asarray(Image.open(reports["root"] / "off" / "report-png" / name))
            h = o.image.height  # the overlay and its colour bar; the captions below
            assert np.array_equal(on[:h], off[:h])
            assert not np.array_equal(on[h:], off[h:])  # the caption says more


def test_the_store_keeps_the_reports_figure_with_its_rule(reports):
    store, content = reports["store"], reports["on"].content
    for e in content.ok_entries:
        for o, p in zip(e.overlays, METHODS, strict=True):
            params = default_params(p).to_dict()
            got = store.map_stability(e.sha256, content.model_sha256, params, e.predicted_id)
            assert got is not None, (e.label, p)
            assert got[1] == STABILITY_RULE.to_json()
            assert got[0] == (None if o.stability is None else pytest.approx(o.stability))


def test_without_stability_nothing_of_it_and_everything_else_the_same(reports):
    on, off = reports["root"] / "on", reports["root"] / "off"
    on_rows, off_rows = _rows(on / "report.csv"), _rows(off / "report.csv")
    assert not any(c.startswith("stability") for c in off_rows[0])
    for a, b in zip(on_rows, off_rows, strict=True):
        a = {k: v for k, v in a.items() if not k.startswith("stability") and k != "created"}
        assert a == {k: v for k, v in b.items() if k != "created"}
    for e in reports["off"].content.ok_entries:  # the originals, byte for byte
        name = f"{e.label}_original.png"
        assert (on / "report-png" / name).read_bytes() == (off / "report-png" / name).read_bytes()
    text = " ".join(pdf_pages(off / "report.pdf"))
    assert "Stability" not in text and "Map stability" not in text
    html = (off / "report.html").read_text(encoding="utf-8")
    assert "Stability" not in html and "stability_rule" not in html
    assert all(o.stability_text == "" for e in reports["off"].content.ok_entries for o in e.overlays)


def test_analyses_from_elsewhere_get_their_stability_here(reports, tiny_model, tmp_path):
    """Predictions and maps gathered from other processes without figures: the builder measures them."""
    from medgrad_desktop.reports.builder import analyse_report_images

    paths = reports["paths"]
    params = [default_params(m) for m in METHODS]
    analyses = analyse_report_images(paths, tiny_model, params, ReportOptions(stability=False), [[1], [2]])
    assert all(not r.stability for r in analyses.values())
    request = ReportRequest(paths, params, tmp_path / "r", formats=("csv",))
    res = export_report(request, tiny_model, analyses=analyses)
    rows, want = _rows(tmp_path / "r" / "report.csv"), _rows(reports["root"] / "on" / "report.csv")
    for a, b in zip(rows, want, strict=True):
        for m in METHODS:
            assert a[f"stability_words_{m}"] == b[f"stability_words_{m}"]
            if b[f"stability_{m}"]:
                assert float(a[f"stability_{m}"]) == pytest.approx(float(b[f"stability_{m}"]), abs=2e-4)
    assert res.content.stability_rule


def test_cli_no_stability_leaves_it_out_and_help_names_the_cost(tiny_model, tmp_path, monkeypatch, capsys):
    import medgrad_desktop.commands.report as report_cmd
    from medgrad_desktop.cli import main

    paths = _images(tmp_path / "cases")
    monkeypatch.setattr(report_cmd, "model_from_args", lambda a: tiny_model)
    base = ["report", str(paths[0].parent), "--random-init", "--format", "csv", "--no-store"]
    assert main([*base, "--out", str(tmp_path / "on")]) == 0
    assert main([*base, "--out", str(tmp_path / "off"), "--no-stability"]) == 0
    assert "stability_words_medgrad" not in _rows(tmp_path / "off" / "report.csv")[0]
    assert "stability_words_medgrad" in _rows(tmp_path / "on" / "report.csv")[0]
    capsys.readouterr()
    with pytest.raises(SystemExit):
        main(["report", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "--no-stability" in text and "one more map per image" in text


def test_an_empty_map_has_the_no_figure_words(tiny_model, tmp_path):
    """A map without contrast is not drawn and gets no figure: its words say so, in every format."""
    from medgrad_desktop.reports import builder

    paths = _images(tmp_path / "cases", 1)
    params = [default_params(m) for m in METHODS]
    analyses = builder.analyse_report_images(paths, tiny_model, params, ReportOptions(stability=False), [[1]])
    r = analyses[1]
    flat = {
        k: dataclasses.replace(h, raw=np.zeros_like(h.raw), normalized=np.zeros_like(h.normalized))
        for k, h in r.maps.items()
    }
    analyses = {1: dataclasses.replace(r, maps=flat)}
    res = export_report(
        ReportRequest(paths, params, tmp_path / "r", formats=("csv", "html")), tiny_model, analyses=analyses
    )
    row = _rows(tmp_path / "r" / "report.csv")[0]
    for m in METHODS:
        assert (row[f"stability_{m}"], row[f"stability_words_{m}"]) == ("", NO_FIGURE_TEXT)
    assert f"Stability: {NO_FIGURE_TEXT}" in (tmp_path / "r" / "report.html").read_text(encoding="utf-8")
    assert all(o.stability is None for o in res.content.ok_entries[0].overlays)
