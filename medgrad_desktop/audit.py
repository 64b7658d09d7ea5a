"""Append-only audit log (JSON Lines) in the app's data folder: who did what, when, with which model
and which file. Lines are only ever appended; a reader skips a damaged last line.

Events in use: `folder_opened`, `prediction` / `predictions_run` (the app); review changes
(`review_accept`, `review_override`, `review_note`, `review_reset`, `review_undo`, `review_redo`,
written by `medgrad_desktop.review.ReviewStore`); `export` (one line per image of a written report,
with the image's pseudonym and hash), `export_failed` and `export_cancelled` (reports). Every line has
`time` (UTC), `event`, `model_sha256` and `file_sha256` (null when not about one file).

Each event is recorded once in each of two places: a line here, and a row in the project store's
audit table when this process has the store open. A review change writes its row itself, in the
transaction that saves the decision (both or neither), and so is not mirrored a second time.
"""

from __future__ import annotations

import contextlib
import json
import os
import threading
from datetime import UTC, datetime
from pathlib import Path

from medgrad_desktop.appdata import data_dir
from medgrad_desktop.atomic import open_private
from medgrad_desktop.store import ProjectStore

_lock = threading.Lock()


def audit_path() -> Path:
    return data_dir() / "audit.jsonl"


def log_event(
    event: str,
    *,
    model_sha256: str | None = None,
    file_sha256: str | None = None,
    mirror: bool = True,
    **details: object,
) -> dict:
    """Append one event; `mirror=False` when the caller has already written its row into the project
    store with the change it records."""
    record = {
        "time": datetime.now(UTC).isoformat(timespec="milliseconds"),
        "event": event,
        "model_sha256": model_sha256,
        "file_sha256": file_sha256,
        **details,
    }
    line = json.dumps(record, ensure_ascii=False, default=str) + "\n"
    with _lock:
        fd = open_private(audit_path(), os.O_RDWR | os.O_APPEND)  # 0600: names files and reviewers
        try:
            size = os.lseek(fd, 0, os.SEEK_END)
            if size and os.pread(fd, 1, size - 1) != b"\n":
                line = "\n" + line  # a crash cut the last line short: never glue a new event onto it
            # backslashreplace: a file name that is not UTF-8 (lone surrogates) becomes a JSON \udcXX
            # escape, so the event is written (and reads back to the same name) instead of raising
            os.write(fd, line.encode("utf-8", "backslashreplace"))
        finally:
            os.close(fd)
    if mirror:
        _mirror(record)
    return record


def _mirror(record: dict) -> None:
    """Also into the project store when this process has it open, so the trail sits beside the
    decisions and predictions it is about. The JSON Lines file stays the primary record."""
    store = ProjectStore.current()
    if store is None:
        return
    details = {k: v for k, v in record.items() if k not in ("time", "event", "model_sha256", "file_sha256")}
    # the JSONL line is written; a busy or closed store must not fail the action being audited
    with contextlib.suppress(Exception):
        store.audit(record["event"], record["model_sha256"], record["file_sha256"], details)


def read_events(path: Path | None = None) -> list[dict]:
    path = path or audit_path()
    if not path.exists():
        return []
    out = []
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        try:
            out.append(json.loads(line))
        except json.JSONDecodeError:
            continue
    return out
