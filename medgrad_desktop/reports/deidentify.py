"""De-identification: pseudonyms instead of file names (and of patients, lesions and visits), images
re-encoded from their pixels so no EXIF, GPS, ICC comment, DICOM header or other metadata of the
original file ever reaches a report, and free text scrubbed of every identifying DICOM value (the
PS3.15 basic-profile attributes read by `dicomio.identifying_text`).

Reviewers are coded too (R-01, R-02... in the order they first appear), since a report that names its
reviewer names the clinic. The pseudonym-to-file mapping, with the reviewer codes, is written only
where the user asks (`--pseudonym-map FILE`), never beside the report, so a report can be shared while
the key stays on the user's machine. Reviewers' notes have their own rule (`reports.notes`).
"""

from __future__ import annotations

import csv
import dataclasses
import io
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from PIL import Image

from medgrad_desktop.atomic import write_atomic

if TYPE_CHECKING:
    from medgrad_desktop.reports.content import ImageEntry


def pseudonym(index: int) -> str:
    """Stable within one report: its position (1-based) in the report's order."""
    return f"IMG-{index:04d}"


REMOVED = "[removed]"


def scrub(text: str, identifying: frozenset[str] | set[str]) -> str:
    """`text` with every identifying value (longest first, so a full name goes before its parts) replaced:
    free text that reaches a report (a reviewer's note, an error message) may quote a patient's name."""
    if not text or not identifying:
        return text
    for value in sorted(identifying, key=len, reverse=True):
        if value in text:
            text = text.replace(value, REMOVED)
    return text


def encode_png(rgb: np.ndarray, level: int = 6) -> bytes:
    """PNG bytes from pixels only: PIL writes no EXIF/GPS/text chunks unless given them.
    `level` is zlib's (1 fast, for the spool; 6 for files a user keeps)."""
    buf = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(rgb, dtype=np.uint8), "RGB").save(buf, "PNG", compress_level=level)
    return buf.getvalue()


def encode_jpeg(rgb: np.ndarray, quality: int = 90) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(rgb, dtype=np.uint8), "RGB").save(
        buf, "JPEG", quality=quality, optimize=True
    )
    return buf.getvalue()


def reviewer_code(index: int) -> str:
    """A reviewer in a de-identified report: R-01, R-02... in the order they first appear in it."""
    return f"R-{index:02d}"


def code_reviewers(entries: list[ImageEntry]) -> dict[str, str]:
    """Replace each entry's reviewer name by its code (in place); return code -> name, the key that
    goes into the pseudonym key file and never into the report."""
    codes: dict[str, str] = {}
    for e in entries:
        name = e.review.reviewer
        if name:
            code = codes.setdefault(name, reviewer_code(len(codes) + 1))
            e.review = dataclasses.replace(e.review, reviewer=code)
    return {code: name for name, code in codes.items()}


def write_pseudonym_map(
    path: Path, rows: list[tuple[str, str | None, str]], reviewers: dict[str, str] | None = None
) -> Path:
    """rows: (pseudonym, sha256, original path) per image; `reviewers`: code -> name, one row each
    after the images (their name in the `reviewer` column). CSV so a person can open it in a
    spreadsheet."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["pseudonym", "sha256", "original_path", "reviewer"])
    w.writerows((*r, "") for r in rows)
    w.writerows((code, "", "", name) for code, name in (reviewers or {}).items())
    # surrogateescape: a file name that is not UTF-8 keeps its real bytes, so the map still finds it
    # 0600 from the start: the key re-identifies every image of the report
    return write_atomic(path, buf.getvalue().encode("utf-8", "surrogateescape"), private=True)
