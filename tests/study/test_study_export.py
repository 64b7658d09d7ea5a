"""The exports: the long CSV's columns and rows, the iMRMC input file read back by a small parser of its
layout, MRMCaov's long table, and reader codes unless the study allows names."""

from __future__ import annotations

import csv
import io

import pytest

from medgrad_desktop.study.export import LONG_COLUMNS, MRMCAOV_COLUMNS, export_files, imrmc_text, rating
from medgrad_desktop.study.records import Response
from medgrad_desktop.study.responses import load_responses
from medgrad_desktop.study.session import Answer, ReadingSession

DIAGNOSES = ["melanoma", "common_nevus", "basal_cell_carcinoma", "lentigo"]


def read_imrmc(text: str) -> tuple[dict[str, int], list[tuple[str, int, str, float]]]:
    """The header counts (NR, N0, N1, NM) and the data rows (reader, case, modality, score) of an iMRMC
    input file: free description lines, then `KEY: value` lines, then `BEGIN DATA:` and 4-field rows."""
    lines = text.splitlines()
    begin = lines.index("BEGIN DATA:")
    header = {}
    for line in lines[:begin]:
        key, _, value = line.partition(":")
        if key in ("NR", "N0", "N1", "NM"):
            header[key] = int(value)
    rows = []
    for line in lines[begin + 1 :]:
        if not line.strip():
            continue
        reader, case, modality, score = line.split(",")
        rows.append((reader, int(case), modality, float(score)))
    return header, rows


def answer_everything(store, spec) -> None:
    """Both readers read every session; the diagnosis and confidence follow the position."""
    for reader in spec.reader_codes:
        for _ in spec.arms:
            session = ReadingSession.open(store, spec.id, reader)
            while (view := session.current()) is not None:
                session.answer(
                    Answer(
                        DIAGNOSES[view.position % len(DIAGNOSES)],
                        1 + view.position % 10,
                        5 if view.arm.shows_ai else None,
                        2 if view.arm.shows_map else None,
                    ),
                    float(view.position),
                )


@pytest.fixture
def answered(make_study):
    store, spec = make_study({"study": {"readers": [{"code": "R01", "name": "Dr Ada"}, "R02"]}})
    answer_everything(store, spec)
    return store, spec


def test_the_imrmc_file_reads_back(answered, tmp_path):
    store, spec = answered
    responses = load_responses(store, spec.id)
    paths = export_files(responses, spec, tmp_path / "out")
    assert [p.name for p in paths] == ["t-study-long.csv", "t-study.imrmc", "t-study-mrmcaov.csv"]
    header, rows = read_imrmc((tmp_path / "out" / "t-study.imrmc").read_text())
    truth = {case: score for reader, case, modality, score in rows if reader == "-1"}
    assert all(modality == "0" for reader, _, modality, _ in rows if reader == "-1")
    malignant = set(spec.questions.malignant)
    expected_truth = {int(r.case_id[2:]): float(r.truth in malignant) for r in responses}
    assert truth == expected_truth and len(truth) == 6
    assert header == {
        "NR": 2,
        "N0": sum(1 for t in truth.values() if t == 0),
        "N1": sum(1 for t in truth.values() if t == 1),
        "NM": 3,
    }
    readings = [(reader, case, modality, score) for reader, case, modality, score in rows if reader != "-1"]
    first = [r for r in responses if not r.repeat]
    assert len(readings) == len(first) == 2 * 3 * 6  # readers x arms x cases, repeats left out
    assert {(r, c, m) for r, c, m, _ in readings} == {
        (r.reader, int(r.case_id[2:]), r.arm) for r in first
    }  # codes, not names
    for r in first:
        score = next(s for a, c, m, s in readings if (a, c, m) == (r.reader, int(r.case_id[2:]), r.arm))
        assert score == rating(r, spec) and 1 <= score <= 20


def test_the_rating_orders_confident_benign_below_confident_malignant(answered):
    _, spec = answered

    def reading(answer: str, confidence: int) -> Response:
        return Response(
            "R01",
            "C-001",
            "ai",
            "prediction",
            1,
            1,
            False,
            "melanoma",
            answer,
            "melanoma",
            confidence,
            5,
            None,
            1.0,
        )

    ladder = [("common_nevus", 10), ("common_nevus", 1), ("melanoma", 1), ("melanoma", 10)]
    scores = [rating(reading(a, c), spec) for a, c in ladder]
    assert scores == [1, 10, 11, 20]


def test_the_long_csv_has_every_reading_and_the_mrmcaov_table_the_first_readings(answered, tmp_path):
    store, spec = answered
    responses = load_responses(store, spec.id)
    export_files(responses, spec, tmp_path)
    long = list(csv.DictReader(io.StringIO((tmp_path / "t-study-long.csv").read_text())))
    assert tuple(long[0]) == LONG_COLUMNS
    assert (
        len(long) == len(responses)
        and sum(r["repeat"] == "1" for r in long) == sum(r.repeat for r in responses) > 0
    )
    assert {r["reader"] for r in long} == {"R01", "R02"}
    for row, r in zip(long, responses, strict=True):
        assert (row["case"], row["arm"], int(row["session"]), int(row["position"])) == (
            r.case_id,
            r.arm,
            r.session,
            r.position,
        )
        assert row["correct"] == str(int(r.answer == r.truth))
        assert row["trust"] == ("" if r.trust is None else str(r.trust))
    table = list(csv.DictReader(io.StringIO((tmp_path / "t-study-mrmcaov.csv").read_text())))
    assert tuple(table[0]) == MRMCAOV_COLUMNS and len(table) == 36
    assert {row["test"] for row in table} == {"no-ai", "ai", "ai-map"}


def test_names_only_when_the_study_allows_them_and_files_kept_unless_forced(answered, tmp_path):
    store, spec = answered
    responses = load_responses(store, spec.id)
    named = type(spec)(**{**spec.__dict__, "names_in_export": True})
    export_files(responses, named, tmp_path)
    assert "Dr Ada" in (tmp_path / "t-study-long.csv").read_text()
    with pytest.raises(FileExistsError, match="--force"):
        export_files(responses, spec, tmp_path)
    export_files(responses, spec, tmp_path, force=True)
    for name in ("t-study-long.csv", "t-study.imrmc", "t-study-mrmcaov.csv"):
        assert "Dr Ada" not in (tmp_path / name).read_text()
        assert (tmp_path / name).stat().st_mode & 0o777 == 0o600
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []


def test_the_imrmc_header_text_never_reads_as_a_count(answered):
    """iMRMC takes any header line that holds "N0:", "N1:", "NR:" or "NM:" anywhere (upper-cased) as that
    count, parsing the rest of the line after its first three characters as an integer: a study name
    such as "Pilot run1: melanoma" must not break the file."""
    store, spec = answered
    named = type(spec)(**{**spec.__dict__, "name": "Pilot run1: melanoma\nNM: 9"})
    text = imrmc_text(load_responses(store, spec.id), named)
    header = text.splitlines()[: text.splitlines().index("BEGIN DATA:")]
    for line in header:
        for key in ("N0:", "N1:", "NR:", "NM:"):
            if key in line.upper():
                assert line.startswith(key) and line[3:].strip().isdigit(), line
    assert "Pilot run1 - melanoma NM - 9" in header[0]
