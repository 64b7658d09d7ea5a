"""Review state per image, keyed by the image file's SHA-256 so renaming or moving a file keeps its
review. One JSON file per opened folder in the app's data folder, written atomically on every change,
so closing the app (or a crash) loses nothing."""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from medgrad_desktop.appdata import data_dir
from medgrad_desktop.atomic import write_text_atomic

DECISIONS = ("pending", "accepted", "overridden")


@dataclass
class ReviewRecord:
    image_sha256: str
    file_name: str = ""
    decision: str = "pending"  # pending | accepted | overridden
    final_class: str | None = None  # the class the reviewer settled on (predicted when accepted)
    predicted_class: str | None = None
    note: str = ""
    updated: str = field(default_factory=lambda: datetime.now(UTC).isoformat(timespec="seconds"))

    def to_dict(self) -> dict:
        return asdict(self)


class ReviewStore:
    def __init__(self, folder: Path | str, root: Path | None = None):
        self.folder = Path(folder).resolve()
        key = hashlib.sha256(str(self.folder).encode()).hexdigest()[:16]
        self.path = (root or data_dir() / "reviews") / f"{key}.json"
        self.records: dict[str, ReviewRecord] = {}
        self._load()

    def _load(self) -> None:
        if not self.path.exists():
            return
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError):
            backup = self.path.with_suffix(".corrupt.json")
            self.path.replace(backup)  # keep the damaged file for a person to look at; start clean
            return
        for d in data.get("records", []):
            rec = ReviewRecord(**{k: v for k, v in d.items() if k in ReviewRecord.__dataclass_fields__})
            self.records[rec.image_sha256] = rec

    def save(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        payload = {"folder": str(self.folder), "records": [r.to_dict() for r in self.records.values()]}
        write_text_atomic(self.path, json.dumps(payload, indent=1, ensure_ascii=False))

    def get(self, sha256: str) -> ReviewRecord | None:
        return self.records.get(sha256)

    def put(self, record: ReviewRecord) -> None:
        if record.decision not in DECISIONS:
            raise ValueError(f"unknown decision '{record.decision}'")
        record.updated = datetime.now(UTC).isoformat(timespec="seconds")
        self.records[record.image_sha256] = record
        self.save()

    def remove(self, sha256: str) -> None:
        if self.records.pop(sha256, None) is not None:
            self.save()
