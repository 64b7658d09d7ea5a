"""A one-line label that elides its text to the width it is given and shows the whole text as its
tooltip, so a long file name, title or caption never widens a panel or gets cut without a trace."""

from __future__ import annotations

from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QPainter
from PySide6.QtWidgets import QFrame, QSizePolicy, QWidget


class ElidedLabel(QFrame):
    def __init__(
        self,
        text: str = "",
        elide: Qt.TextElideMode = Qt.TextElideMode.ElideRight,
        parent: QWidget | None = None,
    ):
        super().__init__(parent)
        self._text = ""
        self._elide = elide
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Fixed)
        self.setText(text)

    def text(self) -> str:
        return self._text

    def setText(self, text: str) -> None:  # noqa: N802 - Qt naming, a drop-in for QLabel
        self._text = text
        self.setToolTip(text)
        self.update()

    def elided_text(self) -> str:
        """The text as drawn at the current width."""
        cr = self.contentsRect()
        return self.fontMetrics().elidedText(self._text, self._elide, max(0, cr.width()))

    def sizeHint(self) -> QSize:  # noqa: N802 - Qt API
        m = self.contentsMargins()
        return QSize(80, self.fontMetrics().height() + m.top() + m.bottom() + 2)

    def minimumSizeHint(self) -> QSize:  # noqa: N802 - Qt API
        return QSize(10, self.sizeHint().height())

    def paintEvent(self, event) -> None:  # noqa: N802 - Qt API
        super().paintEvent(event)
        p = QPainter(self)
        p.setPen(self.palette().windowText().color())
        p.drawText(
            self.contentsRect(),
            Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter,
            self.elided_text(),
        )
        p.end()
