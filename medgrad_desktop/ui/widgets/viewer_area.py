"""The centre of the window: one viewer with its caption and colour bar, or the three methods side by
side with zoom and pan in sync. It draws what it is given; `MapController` decides what that is.

Every viewer holds the same image (one shared pixmap), so switching to the comparison never waits for
a decode; a map is only ever drawn over the image it was computed from.

An empty map (`Heatmap.empty`: all zero or flat) is not drawn: its viewer says "no positive evidence
for <target> in this image", and the colour bar shows only beside a map that is drawn. A free-text
target the model does not match to the image (`core.text_match.FREE_TEXT_RULE`) is drawn dimmed, and
its viewer says so.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QTimer, Signal
from PySide6.QtGui import QPixmap
from PySide6.QtWidgets import QGridLayout, QHBoxLayout, QStackedWidget, QVBoxLayout, QWidget

from medgrad_desktop.core.heatmap import Heatmap
from medgrad_desktop.core.map_evidence import no_evidence_text
from medgrad_desktop.core.method_params import METHOD_NAMES, METHODS
from medgrad_desktop.core.prompts import Target
from medgrad_desktop.core.text_match import FREE_TEXT_RULE, UNMATCHED_TEXT
from medgrad_desktop.ui.widgets.color_bar import ColorBar
from medgrad_desktop.ui.widgets.elided_label import ElidedLabel
from medgrad_desktop.ui.widgets.image_viewer import ImageViewer, overlay_map
from medgrad_desktop.ui.widgets.view_sync import ViewSync

CAPTION_STYLE = "background:#2b3038; color:#e8ebf0; padding:4px 8px;"
UNMATCHED_STRENGTH = 0.35  # of the opacity: a map of text the model does not match to the image, dimmed


def _caption_label(text: str = "") -> ElidedLabel:
    """A caption that never widens the window: cut with '…' to its panel, whole in its tooltip."""
    label = ElidedLabel(text)
    label.setStyleSheet(CAPTION_STYLE)
    return label


def compare_columns(width: int, height: int, aspect: float, n: int = 3, caption: int = 24) -> int:
    """How many columns show `n` images of width/height `aspect` largest in a width x height area."""

    def side(cols: int) -> float:
        rows = -(-n // cols)
        cell_w, cell_h = width / cols, height / rows - caption
        return min(cell_w, cell_h * aspect)

    return max(range(1, n + 1), key=side)


class ViewerArea(QStackedWidget):
    map_shown = Signal(str)  # method: its map is now drawn over its image
    stability_shown = Signal()  # a map's stability line now shows its figure (benchmarks wait for it)
    compare_changed = Signal(bool)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        single = QWidget()
        sl = QHBoxLayout(single)
        sl.setContentsMargins(0, 0, 0, 0)
        sl.setSpacing(0)
        vcol = QVBoxLayout()
        vcol.setContentsMargins(0, 0, 0, 0)
        self.map_caption = _caption_label()
        vcol.addWidget(self.map_caption)
        self.stability_label = _caption_label()  # the map's stability figure, once measured
        self.stability_label.setVisible(False)
        vcol.addWidget(self.stability_label)
        self.viewer = ImageViewer()
        vcol.addWidget(self.viewer, 1)
        sl.addLayout(vcol, 1)
        self.colorbar = ColorBar()
        sl.addWidget(self.colorbar)
        self.addWidget(single)

        compare = QWidget()
        cl = QHBoxLayout(compare)
        cl.setContentsMargins(0, 0, 0, 0)
        cl.setSpacing(2)
        self.compare_grid = QGridLayout()
        self.compare_grid.setSpacing(2)
        self.compare_viewers: dict[str, ImageViewer] = {}
        self.compare_captions: dict[str, ElidedLabel] = {}
        self.compare_stability: dict[str, ElidedLabel] = {}  # each map's stability, once measured
        self.compare_cells: list[QWidget] = []
        for m in METHODS:
            cell = QWidget()
            col = QVBoxLayout(cell)
            col.setContentsMargins(0, 0, 0, 0)
            col.setSpacing(0)
            self.compare_captions[m] = _caption_label(METHOD_NAMES[m])
            col.addWidget(self.compare_captions[m])
            self.compare_stability[m] = _caption_label()
            self.compare_stability[m].setVisible(False)
            col.addWidget(self.compare_stability[m])
            self.compare_viewers[m] = ImageViewer()
            col.addWidget(self.compare_viewers[m], 1)
            self.compare_cells.append(cell)
        self.compare_columns = 0
        self._arrange_compare(len(METHODS))
        cl.addLayout(self.compare_grid, 1)
        self.compare_colorbar = ColorBar()
        cl.addWidget(self.compare_colorbar)
        self.compare_sync = ViewSync(list(self.compare_viewers.values()))
        self.addWidget(compare)
        self.shown_path: Path | None = None  # the image the viewers show
        self.overlay_visible = True

    def _arrange_compare(self, columns: int) -> None:
        """The three panels in `columns` columns (3: a row; 2: two above one; 1: a column)."""
        if columns == self.compare_columns:
            return
        for cell in self.compare_cells:
            self.compare_grid.removeWidget(cell)
        for i, cell in enumerate(self.compare_cells):
            self.compare_grid.addWidget(cell, i // columns, i % columns)
        for c in range(3):
            self.compare_grid.setColumnStretch(c, 1 if c < columns else 0)
        for r in range(3):
            self.compare_grid.setRowStretch(r, 1 if r < -(-len(self.compare_cells) // columns) else 0)
        self.compare_columns = columns

    def resizeEvent(self, event) -> None:  # noqa: N802 - Qt API
        """Lay the comparison out as the panels' shape gives each image the most room."""
        super().resizeEvent(event)
        self._arrange_compare(
            compare_columns(self.width() - self.compare_colorbar.width(), self.height(), self.image_aspect())
        )

    def image_aspect(self) -> float:
        size = self.viewer.image_size
        return size[0] / size[1] if size else 1.0

    @property
    def compare(self) -> bool:
        return self.currentIndex() == 1

    def all_viewers(self) -> list[ImageViewer]:
        return [self.viewer, *self.compare_viewers.values()]

    def active_viewers(self) -> list[ImageViewer]:
        """The viewers zoom keys act on (one of the synchronised three in the comparison)."""
        return list(self.compare_viewers.values())[:1] if self.compare else [self.viewer]

    def set_compare(self, on: bool) -> None:
        self.setCurrentIndex(1 if on else 0)
        if on:  # the compare viewers already hold the current image (see set_image)
            self.fit()
            QTimer.singleShot(0, self.fit)  # again once the layout has given each panel its size
        self.compare_changed.emit(on)

    # ------------------------------------------------------------------ image and maps
    def set_image(self, path: Path | None, pixmap: QPixmap | None) -> None:
        """Show the image at `path` in every viewer; maps are drawn only over their own image."""
        if path is not None and path == self.shown_path:
            return
        self.shown_path = path
        for v in self.all_viewers():
            v.set_pixmap(pixmap)
        self._arrange_compare(
            compare_columns(self.width() - self.compare_colorbar.width(), self.height(), self.image_aspect())
        )

    def caption(self, method: str, current_method: str, text: str, short: str | None = None) -> None:
        if method == current_method:
            self.map_caption.setText(text)
            self.map_caption.setToolTip(text)
        self.compare_captions[method].setText(short or text)
        self.compare_captions[method].setToolTip(text)

    def set_stability(self, text: str | None, how_measured: str = "", method: str | None = None) -> None:
        """The line under a map's caption: its stability in figure and words (None: no line); the
        single view's map, or with `method` that method's map in the comparison."""
        label = self.stability_label if method is None else self.compare_stability[method]
        label.setVisible(text is not None)
        label.setText(text or "")
        label.setToolTip(how_measured)
        if text is not None:
            self.stability_shown.emit()

    def clear_stability(self) -> None:
        """No stability line under any map."""
        for method in (None, *self.compare_stability):
            self.set_stability(None, method=method)

    def set_caption(self, text: str) -> None:
        """A caption without a map: the image is loading, or cannot be shown and why."""
        self.map_caption.setText(text)
        for m, label in self.compare_captions.items():
            label.setText(f"{METHOD_NAMES[m]} · {text}")

    def clear_maps(self, caption: str) -> None:
        for v in self.all_viewers():
            v.clear_map()
        self.clear_stability()
        self.set_caption(caption)
        self._show_colorbars()

    def show_nothing(self, caption: str) -> None:
        """No image to show (none selected, an empty folder, an unreadable file): blank viewers."""
        self.set_image(None, None)
        self.clear_maps(caption)

    def _show_colorbars(self) -> None:
        """A colour bar only beside a map that is drawn: never with the overlay off, no map or an empty
        one (in the comparison: while at least one of the three is drawn)."""
        drawn = self.overlay_visible
        self.colorbar.setVisible(drawn and self.viewer.map_values is not None)
        self.compare_colorbar.setVisible(
            drawn and any(v.map_values is not None for v in self.compare_viewers.values())
        )

    @property
    def has_map(self) -> bool:
        """A map is drawn in the view in front."""
        shown = self.compare_viewers.values() if self.compare else [self.viewer]
        return any(v.map_values is not None for v in shown)

    def display_map(
        self, method: str, current_method: str, hm: Heatmap | None, target: Target, custom: bool
    ) -> None:
        """Draw `method`'s map (None: still computing) where it is visible, and caption it."""
        viewers = []
        if method == current_method and not self.compare:
            viewers.append(self.viewer)
        if self.compare:
            viewers.append(self.compare_viewers[method])
        unmatched = hm is not None and target.kind == "text" and not FREE_TEXT_RULE.matches(hm.score)
        message = ""
        if hm is not None and hm.empty:
            message = no_evidence_text(target.label)
        elif unmatched:
            message = f"{UNMATCHED_TEXT} (S = {hm.score:.2f} < {FREE_TEXT_RULE.min_score:g}): map dimmed"
        for v in viewers:
            if hm is None or v.image_size is None or hm.empty:
                v.clear_map()
            else:
                v.set_map(overlay_map(hm, *v.image_size), UNMATCHED_STRENGTH if unmatched else 1.0)
            v.set_message(message if v.image_size is not None else "")
        self._show_colorbars()
        name = METHOD_NAMES[method]
        if hm is None:
            self.caption(method, current_method, f"{name} · {target.label} · computing…")
            return
        tag = " · custom parameters" if custom else ""
        if hm.empty:
            self.caption(
                method,
                current_method,
                f"{name} · {no_evidence_text(target.label)} ({hm.empty_reason}) · score S = {hm.score:.3f}{tag}",
                f"{name} · {target.label} · no positive evidence",
            )
        else:
            warn = f" · {UNMATCHED_TEXT}" if unmatched else ""
            self.caption(
                method,
                current_method,
                f"{name} · explaining: {target.label} · score S = {hm.score:.3f}{tag}{warn}",
                f"{name} · {target.label} · S = {hm.score:.3f}",
            )
        if viewers and viewers[0].image_size is not None:
            self.map_shown.emit(method)

    # ------------------------------------------------------------------ look and zoom
    def set_overlay_visible(self, visible: bool) -> None:
        self.overlay_visible = visible
        for v in self.all_viewers():
            v.set_overlay_visible(visible)
        self._show_colorbars()

    def set_opacity(self, opacity: float) -> None:
        for v in self.all_viewers():
            v.set_opacity(opacity)

    def set_alpha(self, name: str) -> None:
        """How the overlays' opacity follows relevance (`core.render.OVERLAY_ALPHAS`)."""
        for v in self.all_viewers():
            v.set_alpha(name)
        self.colorbar.set_alpha(name)
        self.compare_colorbar.set_alpha(name)

    def set_colormap(self, name: str) -> None:
        for v in self.all_viewers():
            v.set_colormap(name)
        self.colorbar.set_colormap(name)
        self.compare_colorbar.set_colormap(name)

    def set_contour(self, percentile: float | None) -> None:
        for v in self.all_viewers():
            v.set_contour(percentile)

    def zoom_in(self) -> None:
        for v in self.active_viewers():
            v.zoom_in()

    def zoom_out(self) -> None:
        for v in self.active_viewers():
            v.zoom_out()

    def fit(self) -> None:
        for v in self.all_viewers():
            v.fit()

    def zoom_percent(self) -> int:
        """The zoom of the viewer in front, in percent of the image's own pixels."""
        return round(self.active_viewers()[0].zoom * 100)
