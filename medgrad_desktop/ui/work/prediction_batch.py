"""The predictions controller: one batch job in the worker that predicts a folder's images.

It knows nothing of widgets or of the app's state: `AppModel` hands it the images still to analyse and
applies each streamed `PredictItem` itself, so whether a late result still belongs to the open folder
and the current model is decided in one place. A status bar follows `started`, `progress` and
`finished`.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, Signal

from medgrad_desktop.core.prediction import Prediction
from medgrad_desktop.ui.state.folder_image import FolderImage
from medgrad_desktop.ui.work.jobs import predict_batch
from medgrad_desktop.ui.work.worker import JobHandle, ModelWorker


class PredictionsController(QObject):
    started = Signal(int)  # images to analyse
    progress = Signal(int, int, float)  # done, total, ETA in seconds (NaN when unknown)
    item = Signal(object, object)  # PredictItem, the entry list it was computed for
    failed = Signal(str)  # one-line reason the batch stopped
    finished = Signal(object)  # the JobHandle, whatever its state

    def __init__(self, worker: ModelWorker, parent: QObject | None = None):
        super().__init__(parent)
        self.worker = worker
        self.handle: JobHandle | None = None  # the latest batch
        self._entries: list[FolderImage] | None = None

    @property
    def running(self) -> bool:
        return self.handle is not None and not self.handle.is_finished

    def start(self, entries: list[FolderImage], known: dict[tuple[str, str], Prediction]) -> JobHandle | None:
        """Predict every entry without a result yet; `known` maps (image, model) hashes to predictions
        already made, so a reopened folder costs no forward pass. Returns the running batch of this
        very entry list if there is one, None when nothing is left to do."""
        b = self.handle
        if self.running and not b.is_cancel_requested and self._entries is entries:
            return b
        todo = [(i, e.path) for i, e in enumerate(entries) if not e.done]
        if not todo:
            return None
        handle = self.worker.submit(predict_batch(todo, dict(known)), kind="predict", total=len(todo))
        handle.item.connect(lambda item, ents=entries: self.item.emit(item, ents))
        handle.progress.connect(
            lambda d, t, eta, h=handle: h is self.handle and self.progress.emit(d, t, eta)
        )
        handle.error.connect(self.failed)
        handle.finished.connect(lambda h=handle: h is self.handle and self.finished.emit(h))
        self.handle, self._entries = handle, entries
        self.started.emit(len(todo))
        return handle

    def cancel(self) -> None:
        if self.running:
            self.handle.cancel()
