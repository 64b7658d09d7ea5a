"""Reading the CSV tables of a data set (manifests, Derm7pt's meta and split files) the one careful way.

Every reader goes through here so all of them treat bad files alike: a UTF-8 byte-order mark (Excel
writes one) is dropped, text that is not UTF-8 and the csv module's own errors (a field over its size
limit, a NUL byte) become a `DatasetError` naming the file and line, never a traceback.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from pathlib import Path

from medgrad_desktop.data.records import DatasetError

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def safe_text(value: str) -> str:
    """Text a spreadsheet shows as text: a cell starting with a formula character is quoted away, so a
    name or note in a CSV the app writes is never run as a formula (CSV injection)."""
    return "'" + value if value.startswith(_FORMULA_START) else value


def read_csv_text(path: Path, what: str = "the table") -> str:
    """The file's text without a byte-order mark; `what` names the file in messages ("the manifest")."""
    try:
        return path.read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise DatasetError(f"{path}: cannot open {what} ({exc.strerror}); check the path") from None
    except UnicodeDecodeError:
        raise DatasetError(f"{path}: not UTF-8 text; save {what} as UTF-8 CSV") from None


def dict_reader(text: str) -> csv.DictReader:
    return csv.DictReader(io.StringIO(text, newline=""))


def csv_fieldnames(reader: csv.DictReader, path: Path) -> list[str] | None:
    """The header of a CSV, with the csv module's own errors (a field over its size limit, ...) turned
    into a `DatasetError` naming the file."""
    try:
        return reader.fieldnames
    except csv.Error as exc:
        raise DatasetError(f"{path}:1: not valid CSV ({exc}); check the header line") from None


def csv_rows(reader: csv.DictReader, path: Path) -> Iterator[dict]:
    """The rows of `reader`; a csv.Error stops the read with a `DatasetError` naming file and line."""
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            raise DatasetError(f"{path}:{reader.line_num}: not valid CSV ({exc}); fix that line") from None
        yield row


def manifest_table(
    path: Path, what: str = "the manifest"
) -> tuple[list[str], list[tuple[int, dict[str, str]]]]:
    """A manifest's header and its non-empty rows as (line number, cells), names and cells stripped.

    Cells beyond the header are dropped. The line number is the file's (the header is line 1), for
    messages that point at the row to fix."""
    reader = dict_reader(read_csv_text(path, what))
    fields = [c.strip() for c in (csv_fieldnames(reader, path) or [])]
    rows = []
    for row in csv_rows(reader, path):
        cells = {(k or "").strip(): (v or "").strip() for k, v in row.items() if k is not None}
        if any(cells.values()):
            rows.append((reader.line_num, cells))
    return fields, rows


def has_nul(*cells: str) -> bool:
    """A NUL in a path cell would reach the file system as an embedded-null error; readers reject it."""
    return any("\x00" in c for c in cells)
