"""An image of the opened folder, one row of the thumbnail grid, as plain data readable without Qt."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from medgrad_desktop.core.prediction import Prediction

NOT_ANALYSED = "not analysed (Ctrl+R)"  # what an image left by a cancelled batch says, and how to go on


@dataclass
class FolderImage:
    """An image of the opened folder. `sha256` and `prediction` fill in when the worker reaches it;
    `error` holds the one-line `ImageLoadError` message when the file could not be read."""

    path: Path
    sha256: str | None = None
    prediction: Prediction | None = None
    error: str | None = None
    thumbnail: np.ndarray | None = None  # small RGB uint8, made in the worker
    size: tuple[int, int] | None = None  # (width, height) of the upright image

    @property
    def name(self) -> str:
        return self.path.name

    @property
    def done(self) -> bool:
        return self.prediction is not None or self.error is not None
