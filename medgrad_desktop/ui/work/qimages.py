"""numpy RGB(A) arrays as QImages. QtGui only, no widgets: the worker's jobs make display images with
these in their own thread, and the app model's modules import them without pulling in any widget."""

from __future__ import annotations

import numpy as np
from PySide6.QtGui import QImage


def qimage_from_rgb(rgb: np.ndarray) -> QImage:
    """A QImage that owns a copy of the pixels (safe after the array is freed)."""
    rgb = np.ascontiguousarray(rgb, dtype=np.uint8)
    h, w = rgb.shape[:2]
    return QImage(rgb.data, w, h, 3 * w, QImage.Format.Format_RGB888).copy()


def display_qimage(rgb: np.ndarray) -> QImage:
    """The image in the format the raster paint engine draws directly (RGB32). Made in the worker, so
    the UI thread's QPixmap.fromImage is a plain copy: a 12-megapixel photo costs it ~10 ms, not ~300."""
    return qimage_from_rgb(rgb).convertToFormat(QImage.Format.Format_RGB32)


def qimage_from_rgba(rgba: np.ndarray) -> QImage:
    rgba = np.ascontiguousarray(rgba, dtype=np.uint8)
    h, w = rgba.shape[:2]
    return QImage(rgba.data, w, h, 4 * w, QImage.Format.Format_RGBA8888).copy()
