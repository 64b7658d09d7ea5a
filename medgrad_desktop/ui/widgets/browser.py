"""The left of the window: the thumbnail grid of the open folder with its sort and filter bar.

The grid follows the app model (a new folder, an image's result, a review) and tells it which image is
current and which are selected. Arrow keys move in grid order, so they respect sort and filters.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QItemSelectionModel, QModelIndex, QTimer
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QHBoxLayout,
    QLabel,
    QListView,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from medgrad_desktop.core.card import ModelCard
from medgrad_desktop.core.prediction import NO_OOD_CHECK_TEXT
from medgrad_desktop.ui.state.app_model import AppModel
from medgrad_desktop.ui.state.folder_image import NOT_ANALYSED, FolderImage
from medgrad_desktop.ui.widgets.thumbnail_tiles import ThumbnailFilter, ThumbnailModel, TileDelegate

if TYPE_CHECKING:  # the window imports no torch
    from medgrad_desktop.core.model import ClipModel

SORTS = (
    ("Sort: name", "name"),
    ("Sort: confidence ↑", "confidence"),
    ("Sort: confidence ↓", "confidence-desc"),
    ("Sort: class", "class"),
    ("Sort: review", "review"),
)
OPEN_HINT = "Open a folder (Ctrl+O) or drop one here."
PENDING_TEXT = "analysing…"
REVIEW_FILTERS = (("All reviews", ""), *((k.capitalize(), k) for k in ("pending", "accepted", "overridden")))


SUMMARY_STYLE = "color:#5a6270;"
SUMMARY_FLAGGED_STYLE = "color:#8c1d18; font-weight:bold;"


def folder_summary(entries: list[FolderImage], card: ModelCard | None) -> str:
    """The open folder in one line: how many images, and how many the out-of-distribution check flags,
    or once, plainly, that the model has no such check."""
    text = f"{len(entries)} images"
    if card is None or not entries:
        return text
    if not card.ood_checked:
        return f"{text} · {NO_OOD_CHECK_TEXT}"
    flagged = sum(1 for e in entries if e.prediction is not None and e.prediction.ood_flagged)
    analysed = sum(1 for e in entries if e.prediction is not None)
    if not flagged:
        return f"{text} · none of {analysed} analysed unlike the training images"
    return f"{text} · ⚠ {flagged} of {analysed} analysed unlike the training images"


class ImageBrowser(QWidget):
    def __init__(self, app: AppModel, parent: QWidget | None = None):
        super().__init__(parent)
        self.app = app
        lay = QVBoxLayout(self)
        lay.setContentsMargins(6, 6, 0, 6)
        row = QHBoxLayout()
        self.sort_combo = QComboBox()
        for label, key in SORTS:
            self.sort_combo.addItem(label, key)
        self.sort_combo.currentIndexChanged.connect(self._apply_sort)
        row.addWidget(self.sort_combo)
        self.review_filter = QComboBox()
        for label, key in REVIEW_FILTERS:
            self.review_filter.addItem(label, key)
        self.review_filter.currentIndexChanged.connect(self._apply_filter)
        row.addWidget(self.review_filter)
        for combo in (self.sort_combo, self.review_filter):
            combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
            combo.setMinimumContentsLength(4)
        lay.addLayout(row)
        row2 = QHBoxLayout()
        self.class_filter = QComboBox()
        self.class_filter.addItem("All classes", "")
        self.class_filter.setSizeAdjustPolicy(
            QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon
        )
        self.class_filter.setMinimumContentsLength(4)
        self.class_filter.currentIndexChanged.connect(self._apply_filter)
        row2.addWidget(self.class_filter, 1)
        self.low_only = QCheckBox("Low conf.")
        self.low_only.setToolTip("Show only images whose confidence is below the threshold beside")
        self.low_only.toggled.connect(self._apply_filter)
        row2.addWidget(self.low_only)
        self.low_threshold = QSpinBox()
        self.low_threshold.setRange(1, 99)
        self.low_threshold.setPrefix("< ")
        self.low_threshold.setSuffix(" %")
        self.low_threshold.setValue(round(app.settings.low_confidence * 100))
        self.low_threshold.setToolTip("Low-confidence threshold: tiles below it are marked LOW CONF.")
        self.low_threshold.valueChanged.connect(lambda v: app.set_low_confidence(v / 100.0))
        row2.addWidget(self.low_threshold)
        lay.addLayout(row2)
        self.summary = QLabel()
        self.summary.setWordWrap(True)
        self.summary.setStyleSheet(SUMMARY_STYLE)
        self.summary.setToolTip(
            "Images unlike the model's training images (out-of-distribution check): their prediction and "
            "maps are unreliable"
        )
        lay.addWidget(self.summary)
        self._summary_timer = QTimer(self)  # a batch changes one image at a time: count once per burst
        self._summary_timer.setSingleShot(True)
        self._summary_timer.setInterval(150)
        self._summary_timer.timeout.connect(self.update_summary)

        self.thumb_model = ThumbnailModel(app.review_of, self)
        self.thumb_model.low_confidence = app.settings.low_confidence
        self.proxy = ThumbnailFilter(self)
        self.proxy.setSourceModel(self.thumb_model)
        self.grid = QListView()
        self.grid.setViewMode(QListView.ViewMode.IconMode)
        self.grid.setResizeMode(QListView.ResizeMode.Adjust)
        self.grid.setMovement(QListView.Movement.Static)
        self.grid.setUniformItemSizes(True)
        self.grid.setSpacing(2)
        self.grid.setSelectionMode(QListView.SelectionMode.ExtendedSelection)
        self.grid.setItemDelegate(TileDelegate(self.grid))
        self.grid.setModel(self.proxy)
        self.grid.selectionModel().currentChanged.connect(self._on_current_changed)
        self.grid.selectionModel().selectionChanged.connect(self._on_selection_changed)
        self.grid.setMinimumWidth(200)
        lay.addWidget(self.grid, 1)
        self.empty_hint = QLabel(OPEN_HINT)
        self.empty_hint.setStyleSheet("color:#5a6270; padding:8px;")
        self.empty_hint.setWordWrap(True)
        lay.addWidget(self.empty_hint)

        app.folder_opened.connect(self._on_folder_opened)
        app.entry_changed.connect(self.thumb_model.entry_changed)
        app.entries_refreshed.connect(self.thumb_model.refresh_all)
        app.review_changed.connect(self._on_review_changed)
        app.predictions_finished.connect(self._on_batch_finished)
        app.predictions.started.connect(self._on_batch_started)
        app.low_confidence_changed.connect(self._on_low_confidence)
        app.model_changed.connect(self._on_model_changed)
        app.current_changed.connect(self._follow_current)
        for signal in (app.folder_opened, app.entry_changed, app.entries_refreshed, app.model_changed):
            signal.connect(lambda *_a: self._summary_timer.start())
        app.predictions_finished.connect(self.update_summary)
        self.update_summary()

    def update_summary(self) -> None:
        model = self.app.model
        text = folder_summary(self.app.entries, model.card if model is not None else None)
        self.summary.setText(text)
        self.summary.setStyleSheet(SUMMARY_FLAGGED_STYLE if "⚠" in text else SUMMARY_STYLE)
        self.summary.setVisible(self.app.current_folder is not None)
        if model is not None and not model.card.ood_checked:
            self.summary.setToolTip(model.card.ood_note)

    def _on_folder_opened(self, folder: str) -> None:
        self.thumb_model.set_entries(self.app.entries)
        self.empty_hint.setText(f"No images in {folder}. Supported: JPEG, PNG, TIFF, BMP, WebP, GIF.")
        self._update_hint()

    def _update_hint(self) -> None:
        """Say why the grid is empty: no folder, an empty folder, or filters that hide every image."""
        if self.app.current_folder is None:
            self.empty_hint.setText(OPEN_HINT)
            self.empty_hint.setVisible(True)
        elif not self.app.entries:
            self.empty_hint.setVisible(True)
        elif self.proxy.rowCount() == 0:
            low = (
                f"; low confidence means below {self.low_threshold.value()} %"
                if self.low_only.isChecked()
                else ""
            )
            self.empty_hint.setText(f"No image matches the filters{low}.")
            self.empty_hint.setVisible(True)
        else:
            self.empty_hint.setVisible(False)

    def _on_batch_started(self) -> None:
        self.thumb_model.pending_text = PENDING_TEXT
        self.thumb_model.refresh_all()

    def _on_batch_finished(self) -> None:
        """Tiles left without a result by a cancelled batch say so, and how to go on."""
        self.thumb_model.pending_text = NOT_ANALYSED if self.app.batch_cancelled else PENDING_TEXT
        self.thumb_model.refresh_all()
        self.proxy.invalidate()
        self._refiltered()

    def _on_low_confidence(self, threshold: float) -> None:
        self.thumb_model.low_confidence = threshold
        if self.low_threshold.value() != round(threshold * 100):
            self.low_threshold.setValue(round(threshold * 100))
        self.thumb_model.refresh_all()
        self.proxy.invalidate()
        self._refiltered()

    def _on_model_changed(self, clip: ClipModel) -> None:
        """The class filter lists the new model's classes, keeping the chosen one when it still exists;
        the tiles name overridden classes as this model's catalogue does."""
        self.thumb_model.class_names = {c.id: c.display_name for c in clip.catalogue.classes}
        self.thumb_model.refresh_all()
        current = self.class_filter.currentData()
        self.class_filter.blockSignals(True)
        self.class_filter.clear()
        self.class_filter.addItem("All classes", "")
        for c in clip.catalogue.classes:
            self.class_filter.addItem(c.display_name, c.id)
        self.class_filter.setCurrentIndex(max(0, self.class_filter.findData(current)))
        self.class_filter.blockSignals(False)

    def _on_review_changed(self, sha: str) -> None:
        for i, e in enumerate(self.app.entries):
            if e.sha256 == sha:
                self.thumb_model.entry_changed(i)
        self.proxy.invalidate()
        self._refiltered()

    # ------------------------------------------------------------------ current image and selection
    def _on_current_changed(self, current: QModelIndex, _previous: QModelIndex) -> None:
        if current.isValid():
            self.app.select(self.proxy.mapToSource(current).row())

    def _on_selection_changed(self, *_args) -> None:
        rows = sorted(self.grid.selectionModel().selectedIndexes(), key=lambda i: i.row())
        self.app.set_selection([self.proxy.mapToSource(i).row() for i in rows])

    def _follow_current(self) -> None:
        """Put the grid's cursor on the app's current image when it is shown under the filters."""
        row = self.app.current_row
        if row is None:
            return
        idx = self.proxy.mapFromSource(self.thumb_model.index(row))
        if idx.isValid() and idx != self.grid.currentIndex():
            self.grid.selectionModel().setCurrentIndex(idx, QItemSelectionModel.SelectionFlag.ClearAndSelect)
            self.grid.scrollTo(idx)

    def step(self, delta: int) -> None:
        n = self.proxy.rowCount()
        if n == 0:
            return
        cur = self.grid.currentIndex()
        self._go_to(max(0, min(n - 1, cur.row() + delta if cur.isValid() else 0)))

    def _go_to(self, r: int) -> None:
        """Make grid row `r` (under the current sort and filters) the current image."""
        self.grid.selectionModel().setCurrentIndex(
            self.proxy.index(r, 0), QItemSelectionModel.SelectionFlag.ClearAndSelect
        )
        self.grid.scrollTo(self.proxy.index(r, 0))

    def next_unreviewed(self) -> bool:
        """Move to the next image in grid order that is not reviewed yet, from the current one round
        to the start; False (and a status line) when every shown image is reviewed."""
        n = self.proxy.rowCount()
        cur = self.grid.currentIndex()
        start = cur.row() if cur.isValid() else -1
        for step in range(1, n + 1):
            r = (start + step) % n
            entry = self.app.entries[self.proxy.mapToSource(self.proxy.index(r, 0)).row()]
            if not entry.error and not self.app.is_reviewed(entry):
                if r != start:
                    self._go_to(r)
                return True
        self.app.message.emit("Every image shown is reviewed", 8000)
        return False

    def next_image(self) -> None:
        self.step(1)

    def previous_image(self) -> None:
        self.step(-1)

    def _apply_sort(self) -> None:
        key = self.sort_combo.currentData()
        self.proxy.set_sort(key.removesuffix("-desc"), key.endswith("-desc"))

    def _apply_filter(self) -> None:
        self.proxy.set_filters(
            self.class_filter.currentData() or "",
            self.review_filter.currentData() or "",
            self.low_only.isChecked(),
        )
        self._refiltered()

    def _refiltered(self) -> None:
        """The filters were applied again: the hint and the current image follow what they show."""
        self._update_hint()
        self.show_visible_current()

    def show_visible_current(self) -> None:
        """Keep the current image among those the filters show, so the viewer, the panel and the review
        keys never act on an image the grid hides: a hidden current image gives way to the next shown
        one in folder order (the last shown when none follows), or to none when nothing is shown."""
        if not self.app.entries:
            return
        row, n = self.app.current_row, self.proxy.rowCount()
        if n == 0:
            self.app.deselect()
            return
        if row is None:
            self._go_to(0)  # the filters show images again: the first as the grid orders them
            return
        if self.proxy.mapFromSource(self.thumb_model.index(row)).isValid():
            self._follow_current()  # the grid's cursor on it again, should refiltering have dropped it
            return
        shown = sorted(self.proxy.mapToSource(self.proxy.index(r, 0)).row() for r in range(n))
        target = next((r for r in shown if r > row), shown[-1])
        self._go_to(self.proxy.mapFromSource(self.thumb_model.index(target)).row())
