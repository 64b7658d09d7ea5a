"""Reviewers' notes and reviewers in reports, through `medgrad report` on a DICOM patient set.

A de-identified report leaves notes out by default and says how many; with `--include-notes` every
note is scrubbed, and none of the identifying strings below (the notes' own, and the headers' values in
other spellings) is in any output: PDF text, attachments and metadata, HTML with its embedded images,
CSV, PNG chunks and the manifest. Each decision names its reviewer (a code in a de-identified report,
the code's key in the pseudonym-key file) and its time."""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import pytest

from medgrad_desktop.cli import main
from medgrad_desktop.core.imageio import list_images, load_image
from medgrad_desktop.reports.notes import header_patterns, scrub_note
from medgrad_desktop.review import ReviewRecord, ReviewStore
from tests.data.test_patient_sets import JANE, OMAR, _all_output_text, _dicom_set

# the issue's note, then notes with the headers' values written as people write them; by reviewer
NOTES = {
    "Doe_Jane_back_2023.dcm": (
        "Dr Alice Example",
        "zebrawood pattern. DOB 14/03/1972, first seen 1 March 2023, tel 555-0142, MRN 4471923; "
        "lives at 12 Elm Street",
    ),
    "Doe_Jane_back_2024.dcm": (
        "Dr Bob Sample",
        "quokka margin. Jane DOE, born 23 April 1961 (DOB 23/04/1961), hospital no. MRN 4411 7788, "
        "seen 2023-11-05 and 10 June 2024; call 020 7946 0958 or jane.doe@example.org",
    ),
    "Haddad_Omar.dcm": (
        "Dr Alice Example",
        "narwhal border. Mr Haddad (Omar K.), 7 Harbour View, Port Elling, SW1A 1AA; DOB 02.08.1979, "
        "study 1 Mar 2022, accession ACC 99001122, NHS 111 222 3333",
    ),
}
MARKERS = ("zebrawood", "quokka", "narwhal")  # clinical words of the notes: kept when notes are included
LEAKS = [
    "14/03/1972",
    "1 March 2023",
    "555-0142",
    "4471923",
    "12 Elm Street",
    "Elm Street",
    "23 April 1961",
    "23/04/1961",
    "4411 7788",
    "2023-11-05",
    "10 June 2024",
    "020 7946 0958",
    "7946",
    "jane.doe@example.org",
    "Harbour View",
    "Port Elling",
    "SW1A 1AA",
    "02.08.1979",
    "1 Mar 2022",
    "99001122",
    "111 222 3333",
    "Haddad",
    "Omar",
    "Jane",
]
REVIEWERS = ("Dr Alice Example", "Dr Bob Sample")


def squash(text: str) -> str:
    return re.sub(r"\s+", "", text).lower()


def _number(s: str) -> re.Pattern:
    """A number as a whole token, its spaces optional: "7946" is found in "020 7946" or "0207946 0958"'s
    spelling "020 7946 0958", never inside a SHA-256 digest or a longer number the report prints."""
    body = r"\s*".join(re.escape(part) for part in s.split())
    return re.compile(rf"(?<![0-9A-Za-z]){body}(?![0-9A-Za-z])")


def found(texts: dict[str, str], strings) -> list[tuple[str, str]]:
    """(output, string) for each string in an output, as written or with spacing and case ignored (a
    PDF line break inside a string must not hide it); numbers as whole tokens (`_number`)."""
    hits = []
    for where, text in texts.items():
        for s in strings:
            if s.replace(" ", "").isdigit():
                hit = bool(_number(s).search(text))
            else:
                hit = s in text or squash(s) in squash(text)
            if hit:
                hits.append((where, s))
    return hits


@pytest.fixture
def reviewed_set(tmp_path: Path) -> Path:
    folder = tmp_path / "set"
    _dicom_set(folder)
    store = ReviewStore()
    for p in list_images(folder, recursive=True):
        reviewer, note = NOTES.get(p.name, ("", ""))
        if note:
            sha = load_image(p).sha256
            store.put(ReviewRecord(sha, p.name, "overridden", "melanoma", None, note, reviewer=reviewer))
    return folder


def _report(folder: Path, out: Path, weights: Path, *extra: str) -> int:
    args = ["report", str(folder), "--out", str(out), "--weights", str(weights), "--recursive"]
    return main([*args, "--format", "pdf,html,csv,png", *extra])


def _rows(out: Path) -> list[dict]:
    return list(csv.DictReader(io.StringIO((out / "report.csv").read_text(encoding="utf-8"))))


def test_scrub_note_removes_identifiers_in_any_spelling_and_keeps_the_findings():
    note = (
        "DOB 14/03/1972, first seen 1 March 2023, tel 555-0142, MRN 4471923. 12 Elm Street. "
        "Header date 20230520 written 2023-05-20, 20 May 2023, May 20th, 2023, 20.05.23. "
        "Lesion 6 mm, grew 2 mm in 3 months since 2019; 7-point score 3; Breslow 0.8 mm."
    )
    out = scrub_note(note, frozenset({"20230520"}))
    for s in ("14/03/1972", "1 March 2023", "555-0142", "4471923", "Elm Street", "2023-05-20", "20 May 2023"):
        assert s not in out, (s, out)
    assert "20.05.23" not in out and "May 20th" not in out and "20230520" not in out
    for kept in ("6 mm", "2 mm in 3 months since 2019", "7-point score 3", "Breslow 0.8 mm"):
        assert kept in out, (kept, out)
    assert out.count("[removed]") >= 8


def test_header_values_match_any_case_spacing_punctuation_and_date_spelling():
    patterns = [
        re.compile(p, re.IGNORECASE) for p in header_patterns({"MRN-4411-7788", "19610423", "Doe^Jane"})
    ]

    def hit(text: str) -> bool:
        return any(p.search(text) for p in patterns)

    for text in (
        "mrn 4411 7788",
        "MRN44117788",
        "1961-04-23",
        "23/04/1961",
        "04/23/1961",
        "23 Apr 1961",
        "April 23rd, 1961",
        "23.04.61",
        "DOE, jane",
        "doe jane",
    ):
        assert hit(text), text
    assert not hit("MRN 4411 7789") and not hit("1961-04-24") and not hit("Doerte Janeway")


def test_deidentified_report_leaves_notes_out_says_how_many_and_codes_reviewers(
    reviewed_set: Path, tmp_path: Path, demo_like_weights, capsys
):
    out, key = tmp_path / "out", tmp_path / "private" / "key.csv"
    assert _report(reviewed_set, out, demo_like_weights, "--pseudonym-map", str(key)) == 0
    assert "3 notes left out: they may contain identifiers" in capsys.readouterr().out
    texts = _all_output_text(out)
    assert found(texts, [*MARKERS, *LEAKS, *REVIEWERS]) == []
    pdf = next(t for k, t in texts.items() if k.endswith(".pdf"))
    html = next(t for k, t in texts.items() if k.endswith(".html"))
    for text in (pdf, html):
        assert "3notesleftout:theymaycontainidentifiers" in squash(text)
        assert "decidedbyr-01at" in squash(text) and "decidedbyr-02at" in squash(text)
    rows = [r for r in _rows(out) if r["review_decision"] == "overridden"]
    assert len(rows) == 3 and all(r["review_note"] == "" and r["review_note_left_out"] == "yes" for r in rows)
    assert sorted({r["review_reviewer"] for r in rows}) == ["R-01", "R-02"]
    assert all(r["review_updated"] for r in rows)  # the time of each decision
    keyed = {r["pseudonym"]: r["reviewer"] for r in csv.DictReader(io.StringIO(key.read_text()))}
    assert sorted(keyed[c] for c in ("R-01", "R-02")) == sorted(REVIEWERS)  # the key, not the report


def test_included_notes_are_scrubbed_in_every_output(reviewed_set: Path, tmp_path: Path, demo_like_weights):
    out = tmp_path / "out"
    assert _report(reviewed_set, out, demo_like_weights, "--include-notes") == 0
    texts = _all_output_text(out)
    identifying = {
        s for s in set(JANE.identifying_strings()) | set(OMAR.identifying_strings()) if len(s) >= 3
    }
    assert found(texts, [*LEAKS, *REVIEWERS, *identifying]) == []
    rows = [r for r in _rows(out) if r["review_decision"] == "overridden"]
    assert all(r["review_note_left_out"] == "" and "[removed]" in r["review_note"] for r in rows)
    assert {m for m in MARKERS if any(m in r["review_note"] for r in rows)} == set(
        MARKERS
    )  # the findings stay
    pdf = next(t for k, t in texts.items() if k.endswith(".pdf"))
    assert "included,scrubbedofdates" in squash(pdf) and all(m in pdf for m in MARKERS)


def test_named_report_gives_the_reviewer_and_the_time_of_each_decision(
    reviewed_set: Path, tmp_path: Path, demo_like_weights
):
    out = tmp_path / "out"
    assert _report(reviewed_set, out, demo_like_weights, "--no-deidentify") == 0
    rows = [r for r in _rows(out) if r["review_decision"] == "overridden"]
    assert sorted(r["review_reviewer"] for r in rows) == sorted(reviewer for reviewer, _ in NOTES.values())
    texts = _all_output_text(out)
    for suffix in (".pdf", ".html"):
        text = squash(next(t for k, t in texts.items() if k.endswith(suffix)))
        for r in rows:
            assert squash(f"Decided by {r['review_reviewer']} at {r['review_updated']}") in text
        assert "zebrawood" in text  # a named report keeps the notes as written
