"""The report step of `--self-test`: write a report of one image (PDF, HTML and CSV) into a temporary
folder through the reports package, then read the files back and check them; and scrub a probe note
as a de-identified report with notes would. A frozen bundle that lost a Qt plugin, a font, a writer or
a module of the notes scrubber fails here instead of when a clinician exports.
"""

from __future__ import annotations

import csv
import re
from pathlib import Path

from medgrad_desktop.core.method_params import METHODS, default_params
from medgrad_desktop.core.model import ClipModel
from medgrad_desktop.core.prediction import Prediction
from medgrad_desktop.reports.export import export_report
from medgrad_desktop.reports.notes import scrub_note
from medgrad_desktop.reports.pdf_writer import page_count
from medgrad_desktop.reports.request import plan_report
from medgrad_desktop.review import ReviewStore

_PAGE = re.compile(rb"/Type\s*/Page(?![s\w])")


def pdf_pages(data: bytes) -> int:
    """Pages of a PDF written by Qt (uncompressed object dictionaries), without a PDF library."""
    return len(_PAGE.findall(data))


def check_report(
    clip: ClipModel, image: Path, prediction: Prediction, review_store: ReviewStore | None, out_dir: Path
) -> str:
    """Export a report of `image` with all three methods and check it; '' when good, else what failed.
    `prediction` is the app's own for `image`: the report must agree with it."""
    try:  # planned as the app's export and `medgrad report` plan theirs
        request = plan_report(
            [Path(image)],
            Path(image).parent,
            [default_params(m) for m in METHODS],
            Path(out_dir),
            formats=("pdf", "html", "csv"),
            basename="self-test",
        )
        result = export_report(request, clip, reviews=review_store)
    except Exception as exc:  # noqa: BLE001 - any failure is the answer of a self-test
        return f"the report could not be written: {type(exc).__name__}: {exc}"
    out = Path(out_dir)
    pdf, html, table = out / "self-test.pdf", out / "self-test.html", out / "self-test.csv"
    for p in (pdf, html, table):
        if not p.is_file() or p.stat().st_size == 0:
            return f"the report has no {p.name}"
    data = pdf.read_bytes()
    want = page_count(result.content)
    if not data.startswith(b"%PDF-") or b"%%EOF" not in data[-64:]:
        return f"{pdf.name} is not a complete PDF"
    if pdf_pages(data) != want:
        return f"{pdf.name} has {pdf_pages(data)} pages, expected {want}"
    entry = result.content.entries[0]
    if not entry.ok or len(entry.overlays) != len(METHODS):
        return f"the report of {Path(image).name} lacks its maps ({entry.error or len(entry.overlays)})"
    text = html.read_text(encoding="utf-8")
    if entry.label not in text or text.count("<img") < 1 + len(METHODS):
        return f"{html.name} lacks the image or its maps"
    with open(table, encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    if len(rows) != 1:
        return f"{table.name} has {len(rows)} rows, expected 1"
    cls, conf = rows[0]["predicted_id"], float(rows[0]["confidence"])
    app_p = dict(zip(prediction.class_ids, prediction.probabilities, strict=True)).get(cls)
    if app_p is None or abs(app_p - conf) > 1e-3:
        return f"the report gives {cls} {conf:.4f}, the app {app_p} for {Path(image).name}"
    print(f"report: {want}-page PDF, HTML and CSV of {Path(image).name} written and checked")
    return check_note_scrubber()


# a note with an identifier of each kind the scrubber removes, and the strings that must go
NOTE_PROBE = "DOB 14/03/1972, first seen 1 March 2023, tel 555-0142, MRN 4471923, 12 Elm Street, a@b.org"
NOTE_PROBE_IDENTIFIERS = ("14/03/1972", "1 March 2023", "555-0142", "4471923", "Elm Street", "a@b.org")


def check_note_scrubber() -> str:
    """Scrub a probe note as a de-identified report with notes would; '' when every identifier went.
    The scrubber's library (presidio-analyzer, with spaCy underneath) is imported only here and when a
    report includes notes, so a bundle that lost one of its modules fails here first."""
    try:
        out = scrub_note(NOTE_PROBE)
    except Exception as exc:  # noqa: BLE001 - any failure is the answer of a self-test
        return f"the notes scrubber failed: {type(exc).__name__}: {exc}"
    left = [s for s in NOTE_PROBE_IDENTIFIERS if s in out]
    if left:
        return f"the notes scrubber left {', '.join(left)} in a note"
    print("notes scrubber: identifiers removed from a probe note")
    return ""
