"""The image viewer: a QGraphicsView with the image, a heatmap overlay item, an optional contour, zoom
(wheel, +/-), pan (drag) and fit. `view_sync.ViewSync` keeps several of them in step.

The normalized map is kept as an array and recoloured on a colormap change, so switching colormaps
never needs the worker. The overlay is coloured at a capped resolution and scaled onto the image, so
even a 20-megapixel photo costs the UI thread only a few milliseconds. Its alpha channel follows
relevance (`core.render.overlay_rgba`, the reports' blend) and the item's opacity is the slider's, so
the lesion keeps its colour where the map is low.

Where there is no map to draw (an empty map) or the map must be read with care, a message sits at the
top of the view (`set_message`), over the image.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QRectF, Qt, Signal
from PySide6.QtGui import QColor, QPainter, QPixmap, QTransform
from PySide6.QtWidgets import (
    QFrame,
    QGraphicsPixmapItem,
    QGraphicsScene,
    QGraphicsView,
    QLabel,
    QWidget,
)

from medgrad_desktop.core.heatmap import Heatmap
from medgrad_desktop.core.render import DEFAULT_OVERLAY_ALPHA, contour_mask, overlay_rgba
from medgrad_desktop.ui.work.qimages import qimage_from_rgb, qimage_from_rgba

OVERLAY_MAX_SIDE = 768
MESSAGE_STYLE = (
    "background:rgba(20,24,30,215); color:#f2f4f7; border:1px solid #8a919c; border-radius:4px;"
    "padding:6px 10px; font-weight:bold;"
)
ZOOM_STEP = 1.25


def overlay_map(heatmap: Heatmap, width: int, height: int, max_side: int = OVERLAY_MAX_SIDE) -> np.ndarray:
    """The map at the image's aspect ratio, long side at most `max_side` (values in [0, 1])."""
    scale = min(1.0, max_side / max(width, height))
    return heatmap.map_at(max(1, round(width * scale)), max(1, round(height * scale)))


def contour_rgba(edges: np.ndarray) -> np.ndarray:
    """The contour as a white line inside a dark halo: visible on every colormap (a cyan line vanished in
    jet's cyan band) and on light or dark skin."""
    halo = edges.copy()
    halo[1:] |= edges[:-1]
    halo[:-1] |= edges[1:]
    halo[:, 1:] |= edges[:, :-1]
    halo[:, :-1] |= edges[:, 1:]
    rgba = np.zeros((*edges.shape, 4), np.uint8)
    rgba[halo] = (20, 20, 20, 230)
    rgba[edges] = (255, 255, 255, 255)
    return rgba


class ImageViewer(QGraphicsView):
    view_changed = Signal()

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setScene(QGraphicsScene(self))
        self.setRenderHints(QPainter.RenderHint.SmoothPixmapTransform | QPainter.RenderHint.Antialiasing)
        self.setDragMode(QGraphicsView.DragMode.ScrollHandDrag)
        self.setTransformationAnchor(QGraphicsView.ViewportAnchor.AnchorUnderMouse)
        self.setResizeAnchor(QGraphicsView.ViewportAnchor.AnchorViewCenter)
        self.setBackgroundBrush(QColor("#1f2329"))
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.image_item = QGraphicsPixmapItem()
        self.image_item.setTransformationMode(Qt.TransformationMode.SmoothTransformation)
        self.overlay_item = QGraphicsPixmapItem()
        self.overlay_item.setTransformationMode(Qt.TransformationMode.SmoothTransformation)
        self.overlay_item.setZValue(1)
        self.contour_item = QGraphicsPixmapItem()
        self.contour_item.setZValue(2)
        for item in (self.image_item, self.overlay_item, self.contour_item):
            self.scene().addItem(item)
        self.image_size: tuple[int, int] | None = None
        self.map_values: np.ndarray | None = None
        self.colormap = "inferno"
        self.opacity = 0.5
        self.alpha = DEFAULT_OVERLAY_ALPHA  # `core.render.OVERLAY_ALPHAS`: how opacity follows relevance
        self.strength = 1.0  # a fraction of the opacity: < 1 draws the map dimmed
        self.overlay_visible = True
        self.message = QLabel(self.viewport())
        self.message.setStyleSheet(MESSAGE_STYLE)
        self.message.setWordWrap(True)
        self.message.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.message.setVisible(False)
        self.contour_percentile: float | None = None
        self._fit = True
        self.horizontalScrollBar().valueChanged.connect(lambda _: self.view_changed.emit())
        self.verticalScrollBar().valueChanged.connect(lambda _: self.view_changed.emit())

    # --- content ------------------------------------------------------------------------------
    def set_image(self, rgb: np.ndarray | None) -> None:
        self.set_pixmap(None if rgb is None else QPixmap.fromImage(qimage_from_rgb(rgb)))

    def set_pixmap(self, pixmap: QPixmap | None) -> None:
        """Show an image (QPixmaps are shared, so several viewers can hold one without a copy)."""
        if pixmap is None or pixmap.isNull():
            self.image_item.setPixmap(QPixmap())
            self.image_size = None
            self.clear_map()
            return
        new_size = (pixmap.width(), pixmap.height())
        self.image_item.setPixmap(pixmap)
        if new_size != self.image_size:
            self.image_size = new_size
            self.scene().setSceneRect(QRectF(0, 0, *new_size))
        if self._fit:
            self.fit()

    def set_map(self, values: np.ndarray | None, strength: float = 1.0) -> None:
        """`values`: the normalized map at overlay resolution (see `overlay_map`), or None; `strength`
        scales the opacity (below 1: drawn dimmed)."""
        self.map_values = values
        self.strength = float(np.clip(strength, 0.0, 1.0))
        self._render_overlay()

    def set_message(self, text: str) -> None:
        """A line over the top of the image ('' hides it): what stands in for a map, or a warning."""
        self.message.setText(text)
        self.message.setToolTip(text)
        self.message.setVisible(bool(text))
        self._place_message()

    def _place_message(self) -> None:
        if not self.message.text():
            return
        vp = self.viewport()
        width = max(80, min(vp.width() - 16, 520))
        self.message.setFixedWidth(width)
        self.message.adjustSize()
        self.message.move((vp.width() - width) // 2, 8)

    def clear_map(self) -> None:
        """No map, and no message about one."""
        self.set_map(None)
        self.set_message("")

    def set_colormap(self, name: str) -> None:
        self.colormap = name
        self._render_overlay()

    def set_opacity(self, opacity: float) -> None:
        self.opacity = float(np.clip(opacity, 0.0, 1.0))
        self.overlay_item.setOpacity(self.opacity * self.strength)

    def set_alpha(self, name: str) -> None:
        """How the overlay's opacity follows relevance (`core.render.OVERLAY_ALPHAS`)."""
        self.alpha = name
        self._render_overlay()

    def set_overlay_visible(self, visible: bool) -> None:
        self.overlay_visible = visible
        self.overlay_item.setVisible(visible and self.map_values is not None)
        self.contour_item.setVisible(self.map_values is not None and self.contour_percentile is not None)

    def set_contour(self, percentile: float | None) -> None:
        self.contour_percentile = percentile
        self._render_overlay()

    def _render_overlay(self) -> None:
        v = self.map_values
        if v is None or self.image_size is None:
            self.overlay_item.setPixmap(QPixmap())
            self.overlay_item.setVisible(False)
            self.contour_item.setPixmap(QPixmap())
            self.contour_item.setVisible(False)
            return
        sx, sy = self.image_size[0] / v.shape[1], self.image_size[1] / v.shape[0]
        rgba = overlay_rgba(v, self.colormap, self.alpha)
        self.overlay_item.setPixmap(QPixmap.fromImage(qimage_from_rgba(rgba)))
        self.overlay_item.setTransform(QTransform.fromScale(sx, sy))
        self.overlay_item.setOpacity(self.opacity * self.strength)
        self.overlay_item.setVisible(self.overlay_visible)
        if self.contour_percentile is not None:
            rgba = contour_rgba(contour_mask(v, self.contour_percentile))
            self.contour_item.setPixmap(QPixmap.fromImage(qimage_from_rgba(rgba)))
            self.contour_item.setTransform(QTransform.fromScale(sx, sy))
            self.contour_item.setVisible(True)
        else:
            self.contour_item.setVisible(False)

    # --- zoom and pan ---------------------------------------------------------------------------
    @property
    def zoom(self) -> float:
        return self.transform().m11()

    def fit(self) -> None:
        self._fit = True
        if self.image_size is not None:
            self.fitInView(self.scene().sceneRect(), Qt.AspectRatioMode.KeepAspectRatio)
        self.view_changed.emit()

    def zoom_by(self, factor: float) -> None:
        new = self.zoom * factor
        if not 0.02 <= new <= 40:
            return
        self._fit = False
        self.scale(factor, factor)
        self.view_changed.emit()

    def zoom_in(self) -> None:
        self.zoom_by(ZOOM_STEP)

    def zoom_out(self) -> None:
        self.zoom_by(1 / ZOOM_STEP)

    def wheelEvent(self, event) -> None:  # noqa: N802 - Qt API
        delta = event.angleDelta().y()
        if delta:
            self.zoom_by(ZOOM_STEP if delta > 0 else 1 / ZOOM_STEP)
        event.accept()

    def resizeEvent(self, event) -> None:  # noqa: N802 - Qt API
        super().resizeEvent(event)
        self._place_message()
        if self._fit:
            self.fit()

    def copy_view_from(self, other: ImageViewer) -> None:
        self._fit = other._fit
        self.setTransform(other.transform())
        self.centerOn(other.scene_center())

    def scene_center(self):
        """The scene point at the middle of the viewport (what pan means, whatever the widget size)."""
        return self.mapToScene(self.viewport().rect().center())
