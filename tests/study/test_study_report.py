"""The study report: both formats written from a simulated study's analysis; the PDF says what the
report must name (study, hashes, reader codes, what is undefined) in searchable text."""

from __future__ import annotations

import math

import pytest
from pypdf import PdfReader

from medgrad_desktop.reports.study_figures import ai_never_wrong
from medgrad_desktop.reports.study_report import write_study_report
from medgrad_desktop.study.analysis import analyze
from medgrad_desktop.study.recovery import ARMS
from medgrad_desktop.study.simulate import SimReader, simulate_study

MODEL_SHA = "0123456789abcdef" * 4


@pytest.fixture(scope="module")
def study():
    readers = [SimReader(f"R0{i}", 0.6 + 0.1 * i, {"prediction": 0.5, "map": 0.3}, 20.0) for i in (1, 2)]
    spec, responses = simulate_study(readers, ARMS, 24, 0.7, seed=5)
    return spec, analyze(responses, spec.questions.scoring(), n_boot=200)


def test_report_in_both_formats(study, tmp_path):
    spec, analysis = study
    paths = write_study_report(analysis, spec, tmp_path, ["pdf", "html"], model_sha256=MODEL_SHA)
    assert [p.name for p in paths] == ["simulated-report.pdf", "simulated-report.html"]
    reader = PdfReader(str(paths[0]))
    n = len(reader.pages)
    text = " ".join(" ".join(p.extract_text().split()) for p in reader.pages)  # Qt's PDF spaces are tabs
    for expected in (
        "Reader study: Simulated reader study",
        spec.sha256,
        MODEL_SHA,
        "R01, R02",
        "Not computed",
        "Accuracy per arm",
        "Agreement with the AI and reliance",
        "Trust when the AI is right and when it is wrong",
        "Time per case",
        "Per reader",
        "Research use only",
        f"Page {n} of {n}",
    ):
        assert expected in text, expected
    assert "\u2026" not in text  # every column as wide as its widest figure: no interval cut short
    html = paths[1].read_text(encoding="utf-8")
    assert spec.sha256 in html and MODEL_SHA in html and html.count("data:image/png;base64,") == 4
    assert "<script" not in html and "http" not in html.replace("http-equiv", "")


def test_report_names_what_is_undefined(tmp_path):
    # one reader, AI always right: reliance and over-reliance cannot be computed
    readers = [SimReader("R01", 0.7, {"prediction": 0.5, "map": 0.5}, 20.0)]
    spec, responses = simulate_study(readers, ARMS, 12, 1.0, seed=1)
    analysis = analyze(responses, spec.questions.scoring(), n_boot=100)
    assert math.isnan(analysis.arm("ai").reliance.value)
    (pdf,) = write_study_report(analysis, spec, tmp_path, ["pdf"])
    text = " ".join(" ".join(p.extract_text().split()) for p in PdfReader(str(pdf)).pages)
    assert "no case the AI got wrong" in text
    assert "Fleiss' kappa in ai: undefined, fewer than two readers" in text
    assert "not recorded" in text  # no model hash given
    assert ai_never_wrong(analysis)  # the plots say so rather than draw empty frames


def test_never_wrong_is_told_only_when_the_ai_never_erred(study):
    assert not ai_never_wrong(study[1])


def test_unknown_format_is_refused(study, tmp_path):
    spec, analysis = study
    with pytest.raises(ValueError, match="unknown study report format"):
        write_study_report(analysis, spec, tmp_path, ["docx"])
