"""Review actions as QUndoCommands, so accept / override / note can be undone and redone (Ctrl+Z,
Ctrl+Shift+Z). Each command stores the record before and after; the ReviewStore writes every change
to disk at once, so an undo is as durable as the action it undoes, and audits it: the first `redo` (run
by `QUndoStack.push`) as the decision's own event, later ones as `review_redo`, undos as `review_undo`."""

from __future__ import annotations

import copy
from collections.abc import Callable

from PySide6.QtGui import QUndoCommand

from medgrad_desktop.review import ReviewRecord, ReviewStore


class ReviewCommand(QUndoCommand):
    def __init__(
        self,
        store: ReviewStore,
        sha256: str,
        after: ReviewRecord,
        text: str,
        on_change: Callable[[str, str], None],
        event: str,
        model_sha256: str | None = None,
    ):
        super().__init__(text)
        self.store = store
        self.sha256 = sha256
        before = store.get(sha256)
        self.before = copy.deepcopy(before) if before is not None else None
        self.after = copy.deepcopy(after)
        self.on_change = on_change  # (sha256, "redo"|"undo")
        self.event = event  # review_accept | review_override | review_note | review_reset
        self.model_sha256 = model_sha256
        self._done = False

    def redo(self) -> None:
        if self._done:
            self.store.put(
                copy.deepcopy(self.after),
                event="review_redo",
                model_sha256=self.model_sha256,
                action=self.text(),
            )
        else:
            self.store.put(copy.deepcopy(self.after), event=self.event, model_sha256=self.model_sha256)
            self._done = True
        self.on_change(self.sha256, "redo")

    def undo(self) -> None:
        if self.before is None:
            self.store.remove(self.sha256, event="review_undo", action=self.text())
        else:
            self.store.put(
                copy.deepcopy(self.before),
                event="review_undo",
                model_sha256=self.model_sha256,
                action=self.text(),
            )
        self.on_change(self.sha256, "undo")
