"""Thumbnails read from disk on a thread of their own, so the grid shows the folder's pictures at once,
long before the model (and torch) has loaded and the predictions batch reaches each image.

Decoding is PIL only (JPEG at a reduced scale where the format allows it); the predictions batch later
replaces each preview with the thumbnail of the fully decoded image. The newest request is served
first, so the tiles the user scrolled to come before those scrolled past; when no painted tile waits,
the rest of the folder is read ahead in folder order, so tiles below the fold (a one-column grid shows
only a few) already have their pictures when scrolled to, before the model is ready. A file that
cannot be read gives no preview: the batch reports its error on the tile.
"""

from __future__ import annotations

import threading
import warnings
from collections import deque
from collections.abc import Iterable
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps
from PySide6.QtCore import QObject, Signal

from medgrad_desktop.core.imageio import MAX_PIXELS
from medgrad_desktop.ui.work.worker import lower_thread_priority

IDLE_EXIT_S = 2.0  # the thread ends when nothing was asked for this long, and starts again on demand


def read_thumbnail(path: Path, size: int) -> np.ndarray:
    """The upright image scaled to fit `size` x `size`, as RGB uint8. An image over the app's pixel
    limit raises ValueError (no preview; the predictions batch tells the user why)."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        with Image.open(path) as img:
            w, h = img.size
            if w * h > MAX_PIXELS:
                raise ValueError(f"{path.name}: {w}x{h} is over the {MAX_PIXELS} pixel limit")
            img.draft("RGB", (2 * size, 2 * size))  # JPEG: decode at 1/2 .. 1/8 scale, far faster
            img = ImageOps.exif_transpose(img).convert("RGB")
            img.thumbnail((size, size), Image.Resampling.BILINEAR)
            return np.ascontiguousarray(np.asarray(img))


class ThumbnailLoader(QObject):
    loaded = Signal(object, object)  # path, RGB uint8 array (emitted from the loader thread, queued)

    def __init__(self, size: int, parent: QObject | None = None):
        super().__init__(parent)
        self.size = size
        self._cond = threading.Condition()
        self._todo: deque[Path] = deque()
        self._ahead: deque[Path] = deque()  # read when `_todo` is empty, oldest first
        self._asked: set[Path] = set()
        self._thread: threading.Thread | None = None
        self._closed = False

    def request(self, path: Path) -> None:
        """Read `path` soon (once: a path asked for before is not read again until `clear()`)."""
        with self._cond:
            if path in self._asked or self._closed:
                return
            self._asked.add(path)
            self._todo.append(path)
            self._wake()

    def read_ahead(self, paths: Iterable[Path]) -> None:
        """Read `paths` in this order once no painted tile waits (a path asked for before is skipped)."""
        with self._cond:
            if self._closed:
                return
            self._ahead.extend(paths)
            if self._ahead:
                self._wake()

    def _wake(self) -> None:
        """Start the thread if it ended, and tell it there is work (called holding `_cond`)."""
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="medgrad-thumbnails", daemon=True)
            self._thread.start()
        self._cond.notify()

    def clear(self) -> None:
        """Forget what was asked (a new folder); reads under way still arrive and are checked by path."""
        with self._cond:
            self._todo.clear()
            self._ahead.clear()
            self._asked.clear()

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._todo.clear()
            self._ahead.clear()
            self._cond.notify()

    def _next(self) -> Path | None:
        """The newest painted request, else the next path read ahead not asked for yet (holding `_cond`)."""
        if self._todo:
            return self._todo.pop()  # newest first: the tiles on screen now
        while self._ahead:
            path = self._ahead.popleft()
            if path not in self._asked:
                self._asked.add(path)
                return path
        return None

    def _run(self) -> None:
        lower_thread_priority(2)
        while True:
            with self._cond:
                if not self._todo and not self._ahead and not self._closed:
                    self._cond.wait(IDLE_EXIT_S)
                path = None if self._closed else self._next()
                if path is None:
                    self._thread = None
                    return
            try:
                rgb = read_thumbnail(path, self.size)
            except Exception:  # noqa: BLE001 - no preview; the predictions batch reports the error
                continue
            try:
                self.loaded.emit(path, rgb)
            except RuntimeError:  # the grid was deleted while this image was read
                return
