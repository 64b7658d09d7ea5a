"""The differential as rows of name, bar and percentage, painted to the width the panel gives it.

Names are elided to their column and whole in the row's tooltip, and the bars never get narrower than
`BAR_MIN` pixels: a rich-text table let a long class name ("Pigmented superficial basal cell carcinoma
with ulceration") take the width and squeeze its bar to a sliver.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QRect, QSize, Qt
from PySide6.QtGui import QColor, QFont, QFontMetrics, QPainter
from PySide6.QtWidgets import QSizePolicy, QToolTip, QWidget

from medgrad_desktop.core.prediction import format_probability

BAR_MIN = 32  # px: a bar this wide still shows 5 % apart from 10 %
NAME_SHARE = 0.8  # of the width left after the percentages, at most, for the names
GAP = 5
FILL, TRACK = QColor("#2a6fdb"), QColor("#e3e7ee")


def _percent(p: float) -> str:
    return f"{p * 100:.1f}%"


class ProbabilityBars(QWidget):
    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self._rows: list[tuple[str, float]] = []
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Fixed)

    def set_rows(self, rows: list[tuple[str, float]]) -> None:
        """(name, probability) from the most likely down; the first row is drawn bold."""
        self._rows = [(name, max(0.0, min(1.0, p))) for name, p in rows]
        self.updateGeometry()
        self.update()

    def _bold(self) -> QFont:
        f = QFont(self.font())
        f.setBold(True)
        return f

    def _line(self) -> int:
        return self.fontMetrics().height() + 4

    def sizeHint(self) -> QSize:  # noqa: N802 - Qt API
        return QSize(200, len(self._rows) * self._line())

    def minimumSizeHint(self) -> QSize:  # noqa: N802 - Qt API
        return QSize(BAR_MIN + 40, self.sizeHint().height())

    def columns(self) -> tuple[int, int, int]:
        """Widths of the name, bar and percentage columns at the current width: names take what they
        need up to `NAME_SHARE` of the room, never so much that a bar gets narrower than `BAR_MIN`."""
        bold = QFontMetrics(self._bold())
        pct_w = max((bold.horizontalAdvance(_percent(p)) for _, p in self._rows), default=0)
        avail = max(0, self.width() - pct_w - 2 * GAP)
        longest = max((bold.horizontalAdvance(n) for n, _ in self._rows), default=0)
        name_w = max(0, min(longest, round(avail * NAME_SHARE), avail - BAR_MIN))
        return name_w, avail - name_w, pct_w

    def shown_names(self) -> list[str]:
        """The names as drawn at the current width ("…" where cut)."""
        name_w, bold = self.columns()[0], QFontMetrics(self._bold())
        return [
            (bold if i == 0 else self.fontMetrics()).elidedText(n, Qt.TextElideMode.ElideRight, name_w)
            for i, (n, _) in enumerate(self._rows)
        ]

    def row_tooltip(self, row: int) -> str:
        name, p = self._rows[row]
        return f"{name}: {format_probability(p)}"

    def paintEvent(self, event) -> None:  # noqa: N802 - Qt API
        p = QPainter(self)
        name_w, bar_w, pct_w = self.columns()
        line = self._line()
        bar_h = max(4, line // 3)
        for i, ((_, prob), shown) in enumerate(zip(self._rows, self.shown_names(), strict=True)):
            p.setFont(self._bold() if i == 0 else self.font())
            p.setPen(self.palette().windowText().color())
            y = i * line
            p.drawText(
                QRect(0, y, name_w, line), Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter, shown
            )
            track = QRect(name_w + GAP, y + (line - bar_h) // 2, bar_w, bar_h)
            p.fillRect(track, TRACK)
            p.fillRect(QRect(track.left(), track.top(), max(1, round(bar_w * prob)), bar_h), FILL)
            p.drawText(
                QRect(track.right() + GAP, y, pct_w, line),
                Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter,
                _percent(prob),
            )
        p.end()

    def event(self, e) -> bool:
        if e.type() == QEvent.Type.ToolTip:
            row = int(e.pos().y() // self._line())
            if 0 <= row < len(self._rows):
                QToolTip.showText(e.globalPos(), self.row_tooltip(row), self)
            else:
                QToolTip.hideText()
            return True
        return super().event(e)
