"""The thumbnail grid: a list model over `FolderImage`, a sort/filter proxy and a tile delegate.

Tiles show their picture as soon as the `ThumbnailLoader` has read it (before the model has loaded),
and fill in as the worker's results arrive (one `dataChanged` per image, cheap on the UI thread).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import (
    QAbstractListModel,
    QModelIndex,
    QPersistentModelIndex,
    QRect,
    QSize,
    QSortFilterProxyModel,
    Qt,
)
from PySide6.QtGui import QColor, QFont, QPainter, QPixmap
from PySide6.QtWidgets import QStyle, QStyledItemDelegate, QStyleOptionViewItem

from medgrad_desktop.core.prediction import OOD_FLAG_TEXT, Prediction, format_probability
from medgrad_desktop.review import ReviewRecord
from medgrad_desktop.ui.state.folder_image import FolderImage
from medgrad_desktop.ui.work.qimages import qimage_from_rgb
from medgrad_desktop.ui.work.thumbnail_loader import ThumbnailLoader

EntryRole = Qt.ItemDataRole.UserRole + 1
ClassRole = Qt.ItemDataRole.UserRole + 2
ConfidenceRole = Qt.ItemDataRole.UserRole + 3
ReviewRole = Qt.ItemDataRole.UserRole + 4
ErrorRole = Qt.ItemDataRole.UserRole + 5

TILE = QSize(176, 232)
THUMB = 160
THUMB_BOX = QSize(THUMB, THUMB - 24)  # the picture area of a tile; pixmaps are scaled once, not per paint


class ThumbnailModel(QAbstractListModel):
    def __init__(self, review_of: Callable[[str], ReviewRecord | None], parent=None):
        super().__init__(parent)
        self.entries: list[FolderImage] = []
        self._pixmaps: dict[int, QPixmap] = {}
        self._review_of = review_of
        self.low_confidence = 0.5
        self.class_names: dict[str, str] = {}  # class id -> the model catalogue's display name
        self._rows: dict[Path, int] = {}
        self._read_ahead = False  # the grid was painted since the folder opened: the rest is read ahead
        self.loader = ThumbnailLoader(THUMB, self)
        self.loader.loaded.connect(self._on_preview)
        self.pending_text = "analysing…"  # what a tile without a result says

    def set_entries(self, entries: list[FolderImage]) -> None:
        self.beginResetModel()
        self.entries = entries
        self._rows = {e.path: i for i, e in enumerate(entries)}
        self._pixmaps.clear()
        self.loader.clear()
        self._read_ahead = False
        self.endResetModel()

    def _on_preview(self, path: Path, rgb) -> None:
        """A preview read from disk; the worker's thumbnail, if it came first, is kept."""
        row = self._rows.get(path)
        if row is None or row >= len(self.entries) or self.entries[row].thumbnail is not None:
            return
        self.entries[row].thumbnail = rgb
        self.entry_changed(row)

    def rowCount(self, parent=QModelIndex()) -> int:  # noqa: N802 - Qt API
        return 0 if parent.isValid() else len(self.entries)

    def entry_changed(self, row: int) -> None:
        self._pixmaps.pop(row, None)
        idx = self.index(row)
        self.dataChanged.emit(idx, idx)

    def refresh_all(self) -> None:
        if self.entries:
            self.dataChanged.emit(self.index(0), self.index(len(self.entries) - 1))

    def review(self, entry: FolderImage) -> ReviewRecord | None:
        return self._review_of(entry.sha256) if entry.sha256 else None

    def data(self, index: QModelIndex, role: int = Qt.ItemDataRole.DisplayRole):
        if not index.isValid() or not 0 <= index.row() < len(self.entries):
            return None
        e = self.entries[index.row()]
        if role == Qt.ItemDataRole.DisplayRole:
            return e.name
        if role == Qt.ItemDataRole.DecorationRole:
            if e.thumbnail is None:
                if not e.error:
                    self.loader.request(e.path)  # painted without a picture: read a preview
                if not self._read_ahead:  # the grid is on screen: tiles below the fold get theirs after
                    self._read_ahead = True
                    self.loader.read_ahead(
                        x.path for x in self.entries if x.thumbnail is None and not x.error
                    )
                return None
            pm = self._pixmaps.get(index.row())
            if pm is None:
                pm = QPixmap.fromImage(qimage_from_rgb(e.thumbnail)).scaled(
                    THUMB_BOX, Qt.AspectRatioMode.KeepAspectRatio, Qt.TransformationMode.SmoothTransformation
                )
                self._pixmaps[index.row()] = pm
            return pm
        if role == Qt.ItemDataRole.ToolTipRole:
            if e.error:
                return e.error
            if e.prediction:
                unlike = f"\n⚠ {OOD_FLAG_TEXT}" if e.prediction.ood_flagged else ""
                return (
                    f"{e.name}\n{e.prediction.predicted_name}: {format_probability(e.prediction.confidence)}"
                    f"{unlike}"
                )
            return f"{e.name}\nnot analysed yet"
        if role == EntryRole:
            return e
        if role == ClassRole:
            return e.prediction.predicted_id if e.prediction else ""
        if role == ConfidenceRole:
            return e.prediction.confidence if e.prediction else -1.0
        if role == ReviewRole:
            rec = self.review(e)
            return rec.decision if rec else "pending"
        if role == ErrorRole:
            return e.error or ""
        return None


class ThumbnailFilter(QSortFilterProxyModel):
    """Sort by name, class, confidence or review state; filter by class, review state, low confidence."""

    SORT_KEYS = {
        "name": Qt.ItemDataRole.DisplayRole,
        "class": ClassRole,
        "confidence": ConfidenceRole,
        "review": ReviewRole,
    }

    def __init__(self, parent=None):
        super().__init__(parent)
        self.class_filter = ""
        self.review_filter = ""
        self.low_only = False
        self.setDynamicSortFilter(True)

    def set_filters(self, class_id: str = "", review: str = "", low_only: bool = False) -> None:
        self.class_filter, self.review_filter, self.low_only = class_id, review, low_only
        self.invalidate()

    def set_sort(self, key: str, descending: bool = False) -> None:
        self.setSortRole(self.SORT_KEYS.get(key, Qt.ItemDataRole.DisplayRole))
        self.sort(0, Qt.SortOrder.DescendingOrder if descending else Qt.SortOrder.AscendingOrder)

    def filterAcceptsRow(self, row: int, parent) -> bool:  # noqa: N802 - Qt API
        m: ThumbnailModel = self.sourceModel()
        e = m.entries[row]
        if self.class_filter and (e.prediction is None or e.prediction.predicted_id != self.class_filter):
            return False
        if self.review_filter:
            rec = m.review(e)
            if (rec.decision if rec else "pending") != self.review_filter:
                return False
        return not (self.low_only and (e.prediction is None or e.prediction.confidence >= m.low_confidence))

    def lessThan(self, left, right) -> bool:  # noqa: N802 - Qt API
        a, b = left.data(self.sortRole()), right.data(self.sortRole())
        if a == b:
            return left.data(Qt.ItemDataRole.DisplayRole) < right.data(Qt.ItemDataRole.DisplayRole)
        return a < b


UNLIKE_BADGE = ("⚠ UNLIKE TRAINING", "#8c1d18", "#fdecea")


def tile_badges(
    p: Prediction, rec: ReviewRecord | None, low_confidence: float, class_names: dict[str, str] | None = None
) -> list[tuple[str, str, str]]:
    """(text, foreground, background) of a tile's badges, most important first: unlike the training
    images (the prediction and maps are unreliable), low confidence, then the review decision. An
    override names the class as the catalogue displays it (`class_names`: id -> name), as the panel
    does; an id the model does not know stays as it is."""
    badges = []
    if p.ood_flagged:
        badges.append(UNLIKE_BADGE)
    if p.confidence < low_confidence:
        badges.append(("LOW CONF.", "#b35c00", "#fff1e0"))
    if rec and rec.decision == "accepted":
        badges.append(("✓ accepted", "#1e6b34", "#e3f4e8"))
    elif rec and rec.decision == "overridden":
        final = rec.final_class or ""
        badges.append((f"✎ {(class_names or {}).get(final, final)}", "#1f4f9c", "#e4ecfa"))
    return badges


class TileDelegate(QStyledItemDelegate):
    """Thumbnail, file name, predicted class and confidence, badges (unlike the training images, LOW,
    the review state) or the error."""

    def sizeHint(self, option, index) -> QSize:  # noqa: N802 - Qt API
        return TILE

    def paint(
        self, painter: QPainter, option: QStyleOptionViewItem, index: QModelIndex | QPersistentModelIndex
    ):
        entry: FolderImage = index.data(EntryRole)
        model = (
            index.model().sourceModel() if isinstance(index.model(), QSortFilterProxyModel) else index.model()
        )
        painter.save()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        r = option.rect.adjusted(4, 4, -4, -4)
        selected = bool(option.state & QStyle.StateFlag.State_Selected)
        painter.setPen(QColor("#2a6fdb") if selected else QColor("#c9ced6"))
        painter.setBrush(QColor("#e6efff") if selected else QColor("#ffffff"))
        painter.drawRoundedRect(r, 6, 6)
        thumb_rect = QRect(r.left() + (r.width() - THUMB) // 2, r.top() + 6, THUMB, THUMB - 24)
        pm = index.data(Qt.ItemDataRole.DecorationRole)
        if isinstance(pm, QPixmap) and not pm.isNull():
            scaled = (
                pm
                if pm.width() <= thumb_rect.width() and pm.height() <= thumb_rect.height()
                else pm.scaled(
                    thumb_rect.size(),
                    Qt.AspectRatioMode.KeepAspectRatio,
                    Qt.TransformationMode.FastTransformation,
                )
            )
            x = thumb_rect.left() + (thumb_rect.width() - scaled.width()) // 2
            y = thumb_rect.top() + (thumb_rect.height() - scaled.height()) // 2
            painter.drawPixmap(x, y, scaled)
        else:
            painter.fillRect(thumb_rect, QColor("#fbeaea") if entry.error else QColor("#eef0f3"))
            painter.setPen(QColor("#b3261e") if entry.error else QColor("#7a808a"))
            painter.drawText(
                thumb_rect, Qt.AlignmentFlag.AlignCenter, "⚠ cannot be read" if entry.error else "…"
            )
        text_top = thumb_rect.bottom() + 6
        font = QFont(option.font)
        font.setPointSizeF(max(7.0, font.pointSizeF() * 0.9))
        painter.setFont(font)
        fm = painter.fontMetrics()
        line = fm.height() + 1
        painter.setPen(QColor("#333840"))
        painter.drawText(
            QRect(r.left() + 6, text_top, r.width() - 12, line),
            Qt.AlignmentFlag.AlignLeft,
            fm.elidedText(entry.name, Qt.TextElideMode.ElideMiddle, r.width() - 12),
        )
        y = text_top + line
        if entry.error:
            painter.setPen(QColor("#b3261e"))
            painter.drawText(
                QRect(r.left() + 6, y, r.width() - 12, 2 * line),
                Qt.AlignmentFlag.AlignLeft | Qt.TextFlag.TextWordWrap,
                fm.elidedText(
                    "⚠ " + entry.error.split(": ", 1)[-1], Qt.TextElideMode.ElideRight, 2 * (r.width() - 16)
                ),
            )
        elif entry.prediction is None:
            painter.setPen(QColor("#7a808a"))
            painter.drawText(
                QRect(r.left() + 6, y, r.width() - 12, line),
                Qt.AlignmentFlag.AlignLeft,
                getattr(model, "pending_text", "analysing…"),
            )
        else:
            p = entry.prediction
            bold = QFont(font)
            bold.setBold(True)
            painter.setFont(bold)
            painter.setPen(QColor("#1d2330"))
            conf = format_probability(p.confidence)
            cw = fm.horizontalAdvance(conf) + 8
            painter.drawText(
                QRect(r.left() + 6, y, r.width() - 12 - cw, line),
                Qt.AlignmentFlag.AlignLeft,
                fm.elidedText(p.predicted_name, Qt.TextElideMode.ElideRight, r.width() - 16 - cw),
            )
            painter.drawText(QRect(r.right() - cw - 4, y, cw, line), Qt.AlignmentFlag.AlignRight, conf)
            painter.setFont(font)
            y += line
            rec = model.review(entry) if hasattr(model, "review") else None
            badges = tile_badges(
                p, rec, getattr(model, "low_confidence", 0.5), getattr(model, "class_names", None)
            )
            x = r.left() + 6
            for text, fg, bg in badges:
                w = fm.horizontalAdvance(text) + 10
                w = min(w, r.right() - 4 - x)
                if w <= 10:
                    break
                box = QRect(x, y + 1, w, line)
                painter.setPen(QColor(fg))
                painter.setBrush(QColor(bg))
                painter.drawRoundedRect(box, 3, 3)
                painter.drawText(
                    box, Qt.AlignmentFlag.AlignCenter, fm.elidedText(text, Qt.TextElideMode.ElideRight, w - 6)
                )
                x += w + 4
        painter.restore()
