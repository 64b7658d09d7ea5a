"""Reports carry the out-of-distribution check: `medgrad report` with the bundled demo model flags a
HAM10000 photograph and a noise image (and not a bundled synthetic image) on their PDF and HTML pages,
counts them on the cover and names the check and its statistics; the CSV has the columns. A model
without statistics says once on the cover that it has no such check, and the CSV "not checked"."""

from __future__ import annotations

import csv
from pathlib import Path

import cv2
import pytest

from medgrad_desktop.cli import main
from medgrad_desktop.core.ood import file_sha256, stats_path
from medgrad_desktop.core.prediction import NO_OOD_CHECK_TEXT, OOD_FLAG_TEXT
from medgrad_desktop.data.non_dermoscopy import draw
from medgrad_desktop.resources_path import demo_dir, resources_dir

pypdf = pytest.importorskip("pypdf")
DEMO_WEIGHTS = resources_dir() / "demo" / "model" / "demo-model.safetensors"
FLAG = OOD_FLAG_TEXT[0].upper() + OOD_FLAG_TEXT[1:]


def _folder(root: Path, ham_dir: Path | None) -> Path:
    folder = root / "images"
    folder.mkdir()
    if ham_dir is not None:
        ham = sorted((ham_dir / "images").glob("*.jpg"))[0]
        (folder / "a_ham.jpg").write_bytes(ham.read_bytes())
        cv2.imwrite(str(folder / "b_noise.png"), draw("noise", 23, 0)[..., ::-1])
    demo = sorted(demo_dir().glob("demo_*.png"))[0]
    (folder / "c_demo.png").write_bytes(demo.read_bytes())
    return folder


def _report(folder: Path, out: Path, *extra: str) -> tuple[list[dict], str, str]:
    args = ["report", str(folder), "--out", str(out), "--format", "pdf,html,csv", "--no-store"]
    assert main([*args, "--method", "gradcam", "--device", "cpu", *extra]) == 0
    rows = list(csv.DictReader((out / "report.csv").open(encoding="utf-8")))
    html = (out / "report.html").read_text(encoding="utf-8")
    pdf = "\n".join(p.extract_text() for p in pypdf.PdfReader(str(out / "report.pdf")).pages)
    return rows, html, " ".join(pdf.split())


def test_reports_flag_unlike_images_and_count_them(tmp_path, ham_dir):
    if not stats_path(DEMO_WEIGHTS).exists():
        pytest.skip("the bundled demo model has no out-of-distribution statistics yet")
    rows, html, pdf = _report(_folder(tmp_path, ham_dir), tmp_path / "out", "--no-deidentify")
    by_name = {r["image"]: r for r in rows}
    assert [by_name[n]["unlike_training"] for n in ("a_ham.jpg", "b_noise.png", "c_demo.png")] == [
        "yes",
        "yes",
        "no",
    ]
    assert {r["ood_method"] for r in rows} == {"layers"}
    assert all(
        float(r["ood_score"]) > float(r["ood_threshold"]) for r in rows if r["unlike_training"] == "yes"
    )
    sha = file_sha256(stats_path(DEMO_WEIGHTS))[:12]
    for text in (html, pdf):
        assert "2 unlike the images the model was trained on" in text
        assert sha in text  # the cover names the statistics behind every flag
    assert html.count(f"\u26a0 {FLAG}") == 2
    assert pdf.count(FLAG) == 2


def test_a_model_without_statistics_says_so_once(tmp_path, tiny_model):
    from medgrad_desktop.core.checkpoint import save_checkpoint

    weights = save_checkpoint(
        tiny_model.model, tmp_path / "m.safetensors", {"name": "m", "architecture": "MedGrad-Tiny"}
    )
    rows, html, pdf = _report(_folder(tmp_path, None), tmp_path / "out", "--weights", str(weights))
    assert [r["unlike_training"] for r in rows] == ["not checked"]
    assert html.count(NO_OOD_CHECK_TEXT) == 1 and pdf.count(NO_OOD_CHECK_TEXT) == 1
    assert FLAG not in html and FLAG not in pdf
