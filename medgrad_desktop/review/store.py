"""Review state per image, keyed by the image's SHA-256 and kept in the project store (SQLite), so a
moved, renamed or copied folder keeps its decisions, two app windows on one folder each write their
own decisions without overwriting the other's, and every decision carries the reviewer's name and
time. Each change is one committed transaction: closing the app or a crash loses nothing.

The review files of earlier versions (one JSON per folder path) are imported into the store once, the
first time a `ReviewStore` opens it."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from datetime import UTC, datetime
from pathlib import Path

from medgrad_desktop.appdata import data_dir
from medgrad_desktop.store import ProjectStore, import_legacy_reviews
from medgrad_desktop.store.project import STORE_NAME

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
    reviewer: str = ""  # who decided, as entered once in Preferences

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> ReviewRecord:
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in names and v is not None})


class ReviewStore:
    """`folder` is the folder the decisions are being made in (kept for messages); `root` a data folder
    to use instead of the app's (tests); `store` an open project store to share; `reviewer` the name
    stamped on every decision that has none."""

    def __init__(
        self,
        folder: Path | str | None = None,
        root: Path | None = None,
        *,
        store: ProjectStore | None = None,
        reviewer: str = "",
    ):
        self.folder = Path(folder).resolve() if folder is not None else None
        base = root if root is not None else data_dir()
        self.store = store or ProjectStore.shared(base / STORE_NAME)
        self.reviewer = reviewer
        import_legacy_reviews(self.store, base / "reviews")

    @property
    def path(self) -> Path:
        return self.store.path

    @property
    def records(self) -> dict[str, ReviewRecord]:
        """Every decision in the store, by image hash (a fresh read: other processes' decisions too)."""
        return {d["image_sha256"]: ReviewRecord.from_dict(d) for d in self.store.reviews()}

    def get(self, sha256: str) -> ReviewRecord | None:
        d = self.store.get_review(sha256)
        return ReviewRecord.from_dict(d) if d is not None else None

    def put(self, record: ReviewRecord) -> None:
        if record.decision not in DECISIONS:
            raise ValueError(f"unknown decision '{record.decision}'")
        record.updated = datetime.now(UTC).isoformat(timespec="milliseconds")
        record.reviewer = record.reviewer or self.reviewer
        self.store.put_review(record.to_dict())

    def remove(self, sha256: str) -> None:
        if self.store.get_review(sha256) is not None:
            self.store.delete_review(sha256)
