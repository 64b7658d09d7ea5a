"""Review state per image, keyed by the image's SHA-256 and kept in the project store (SQLite), so a
moved, renamed or copied folder keeps its decisions, two app windows on one folder each write their
own decisions without overwriting the other's, and every decision carries the reviewer's name and
time. Each change is one committed transaction: closing the app or a crash loses nothing. It is the one
audit sink of review changes: each is recorded once in the store's audit table (in the change's own
transaction) and once in the JSON Lines audit log (`medgrad_desktop.audit`).

The review files of earlier versions (one JSON per folder path) are imported into the store once, the
first time a `ReviewStore` opens it."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from datetime import UTC, datetime
from pathlib import Path

from medgrad_desktop.appdata import data_dir
from medgrad_desktop.audit import log_event
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
    """Decisions are kept by image hash, whatever folder the image is in. `root` a data folder to use
    instead of the app's (tests); `store` an open project store to share; `reviewer` the name stamped on
    every decision that has none."""

    def __init__(
        self,
        *,
        root: Path | None = None,
        store: ProjectStore | None = None,
        reviewer: str = "",
    ):
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

    def put(
        self,
        record: ReviewRecord,
        *,
        event: str = "review_saved",
        model_sha256: str | None = None,
        action: str = "",
    ) -> None:
        """Save a decision and audit it once in each sink. `event` names what the person did
        (`review_accept`, `review_override`, `review_note`, `review_reset`, `review_undo`,
        `review_redo`); `model_sha256` the model whose prediction was judged; `action` the undo stack's
        words for an undone or redone change."""
        if record.decision not in DECISIONS:
            raise ValueError(f"unknown decision '{record.decision}'")
        record.updated = datetime.now(UTC).isoformat(timespec="milliseconds")
        record.reviewer = record.reviewer or self.reviewer
        details = {
            "file_name": record.file_name,
            "predicted": record.predicted_class,
            "final": record.final_class,
            "decision": record.decision,
            "note": record.note,
            "reviewer": record.reviewer,
            **({"action": action} if action else {}),
        }
        self.store.put_review(record.to_dict(), event=event, model_sha256=model_sha256, details=details)
        log_event(event, model_sha256=model_sha256, file_sha256=record.image_sha256, mirror=False, **details)

    def remove(self, sha256: str, *, event: str = "review_removed", action: str = "") -> None:
        """Remove a decision (an undone first decision), audited once in each sink as `put` is."""
        if self.store.get_review(sha256) is not None:
            details = {"action": action} if action else {}
            self.store.delete_review(sha256, event=event, details=details)
            log_event(event, file_sha256=sha256, mirror=False, **details)
