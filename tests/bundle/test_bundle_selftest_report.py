"""The report step of `--self-test` (medgrad_desktop/ui/selftest/report_check.py): it passes on a good
report and names what is wrong when a writer breaks or the report disagrees with the app."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from medgrad_desktop.core.classify import classify
from medgrad_desktop.ui.selftest.report_check import check_report, pdf_pages
from tests.conftest import random_rgb


@pytest.fixture
def image(tmp_path) -> Path:
    p = tmp_path / "lesion.png"
    Image.fromarray(random_rgb(96, 128, seed=3)).save(p)
    return p


@pytest.fixture
def prediction(tiny_model, image):
    return classify(tiny_model, [np.asarray(Image.open(image).convert("RGB"))], 1, 5)[0]


def test_good_report_passes_and_pdf_pages_match_pypdf(tiny_model, image, prediction, tmp_path, qapp):
    import pypdf

    out = tmp_path / "report"
    assert check_report(tiny_model, image, prediction, None, out) == ""
    pdf = out / "self-test.pdf"
    assert pdf_pages(pdf.read_bytes()) == len(pypdf.PdfReader(pdf).pages) >= 2
    assert (out / "self-test.csv").is_file() and (out / "self-test.html").is_file()


def test_truncated_pdf_is_caught(tiny_model, image, prediction, tmp_path, monkeypatch, qapp):
    import medgrad_desktop.reports.pdf_writer as pw

    real = pw.write_pdf

    def truncated(content, path, tick=None):
        real(content, path, tick)
        data = Path(path).read_bytes()
        Path(path).write_bytes(data[: len(data) // 2])
        return path

    monkeypatch.setattr(pw, "write_pdf", truncated)
    msg = check_report(tiny_model, image, prediction, None, tmp_path / "r")
    assert "self-test.pdf" in msg and "not a complete PDF" in msg


def test_disagreement_with_the_app_is_caught(tiny_model, image, prediction, tmp_path, qapp):
    from dataclasses import replace

    other = replace(prediction, probabilities=[0.0] * len(prediction.probabilities))
    msg = check_report(tiny_model, image, other, None, tmp_path / "r")
    assert "the report gives" in msg and "lesion.png" in msg


def test_unwritable_folder_is_reported(tiny_model, image, prediction, tmp_path, qapp):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    msg = check_report(tiny_model, image, prediction, None, blocker / "sub")
    assert msg.startswith("the report could not be written")


def test_pdf_pages_counts_page_objects_not_the_pages_tree():
    data = (
        b"%PDF-1.4\n1 0 obj << /Type /Pages /Kids [2 0 R 3 0 R] >>\n2 0 obj << /Type /Page >>\n"
        b"3 0 obj <</Type/Page/Parent 1 0 R>>\n%%EOF"
    )
    assert pdf_pages(data) == 2


def test_note_scrubber_is_checked(monkeypatch):
    import medgrad_desktop.ui.selftest.report_check as rc

    assert rc.check_note_scrubber() == ""
    monkeypatch.setattr(rc, "scrub_note", lambda text, identifying=frozenset(): text.replace("4471923", "x"))
    problem = rc.check_note_scrubber()
    assert problem.startswith("the notes scrubber left 14/03/1972") and "4471923" not in problem

    def broken(text, identifying=frozenset()):
        raise ModuleNotFoundError("No module named 'spacy.lexeme'")

    monkeypatch.setattr(rc, "scrub_note", broken)
    assert "spacy.lexeme" in rc.check_note_scrubber()
