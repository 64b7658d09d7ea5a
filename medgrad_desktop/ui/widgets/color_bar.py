"""The colour bar beside a map: the colormap's ramp from low to high relevance, redrawn when the
colormap or the overlay's transparency changes (where the overlay fades into the image, the bar fades
into a checkerboard)."""

from __future__ import annotations

from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QColor, QPainter, QPixmap
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

from medgrad_desktop.core.render import colorbar, overlay_alpha
from medgrad_desktop.ui.work.qimages import qimage_from_rgb


class _Gradient(QWidget):
    """The colour ramp itself, stretched to whatever height the layout gives it."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.pixmap = QPixmap()
        self.setMinimumHeight(80)

    def paintEvent(self, event) -> None:  # noqa: N802 - Qt API
        p = QPainter(self)
        w = min(20, self.width())
        x = (self.width() - w) // 2
        p.drawPixmap(QRectF(x, 0, w, self.height()), self.pixmap, QRectF(self.pixmap.rect()))
        p.setPen(QColor("#8a919c"))
        p.drawRect(x, 0, w - 1, self.height() - 1)
        p.end()


class ColorBar(QWidget):
    """A vertical colour bar with its meaning, redrawn when the colormap changes."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self._bar = _Gradient()
        self._high = QLabel("high")
        self._low = QLabel("low")
        caption = QLabel("relevance\n(per-map\nmin–max)")
        for lab in (self._high, self._low, caption):
            lab.setAlignment(Qt.AlignmentFlag.AlignHCenter)
            lab.setStyleSheet("color: #3a4150; font-size: 10px;")
        lay = QVBoxLayout(self)
        lay.setContentsMargins(4, 8, 4, 8)
        lay.setSpacing(3)
        lay.addWidget(self._high)
        lay.addWidget(self._bar, 1)
        lay.addWidget(self._low)
        lay.addSpacing(6)
        lay.addWidget(caption)
        self.setFixedWidth(64)
        self.colormap = "inferno"
        self.alpha = "uniform"
        self.set_colormap("inferno")

    def set_colormap(self, name: str) -> None:
        self.colormap = name
        self._draw()

    def set_alpha(self, name: str) -> None:
        """How the overlay's opacity follows relevance (`core.render.OVERLAY_ALPHAS`)."""
        self.alpha = name
        self._draw()

    def _draw(self) -> None:
        self._bar.pixmap = QPixmap.fromImage(qimage_from_rgb(colorbar(256, 20, self.colormap, self.alpha)))
        self._bar.update()
        self.setToolTip(f"colormap: {self.colormap}; opacity {overlay_alpha(self.alpha).describe()}")
