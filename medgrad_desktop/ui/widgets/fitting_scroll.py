"""A scroll area for a dialog's options: it asks for its content's whole height at its width, so the
dialog opens showing everything where the screen has room and scrolls where it has not.

Why: a window sizes itself from its layout's size hint, which takes a word-wrapped label at the height
of some other width; the export dialog's pseudonym-key warning came out cut in half, and on a 1024 x 640
screen the dialog was taller than the screen. `fit_dialog` sizes a dialog from the height its content
needs at its actual width, capped by the screen.
"""

from __future__ import annotations

from PySide6.QtCore import QSize, Qt
from PySide6.QtWidgets import QDialog, QFrame, QScrollArea, QWidget

MIN_VISIBLE = 120  # px of options still shown when the screen is short


class FittingScrollArea(QScrollArea):
    def __init__(self, content: QWidget, parent: QWidget | None = None):
        super().__init__(parent)
        self.setWidget(content)
        self.setWidgetResizable(True)
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)  # wrap, never sideways

    def content_height(self, width: int) -> int:
        """The content's height at `width`, every wrapped label whole."""
        content = self.widget()
        hint = content.sizeHint().height()
        return max(hint, content.heightForWidth(width)) if content.hasHeightForWidth() else hint

    def _chrome_width(self) -> int:
        """The frame and room for the vertical scroll bar, so the content keeps its width when it scrolls."""
        return 2 * self.frameWidth() + self.verticalScrollBar().sizeHint().width()

    def sizeHint(self) -> QSize:  # noqa: N802 - Qt API
        hint = self.widget().sizeHint()
        width = max(hint.width(), self.viewport().width() if self.isVisible() else 0)
        return QSize(hint.width() + self._chrome_width(), self.content_height(width) + 2 * self.frameWidth())

    def minimumSizeHint(self) -> QSize:  # noqa: N802 - Qt API
        return QSize(self.widget().minimumSizeHint().width() + self._chrome_width(), MIN_VISIBLE)


def fit_dialog(dialog: QDialog) -> None:
    """Give `dialog` the width its content needs (Qt opens a window with wrapped text at most two thirds
    of the screen wide, which cut the export dialog's rows on an 800 px screen) and the height its layout
    needs at that width, wrapped labels whole, never more than its screen offers; what does not fit then
    scrolls in its `FittingScrollArea`. It only grows (within the screen, moved back onto it where it
    would reach past an edge), so a size the user gave it stays."""
    layout = dialog.layout()
    if layout is None:
        return
    screen = dialog.screen()
    room = screen.availableGeometry().size() if screen is not None else QSize(1 << 20, 1 << 20)
    title_bar = max(0, dialog.frameGeometry().height() - dialog.geometry().height())
    width = max(dialog.width(), min(layout.totalMinimumSize().width(), room.width()))
    want = layout.totalHeightForWidth(width) if layout.hasHeightForWidth() else -1
    want = max(want, layout.totalSizeHint().height(), dialog.height())
    size = QSize(width, max(min(want, room.height() - title_bar), layout.totalMinimumSize().height()))
    if size != dialog.size():
        dialog.resize(size)
    if screen is not None:  # grown past the screen's edge (or centred on a larger window): back on it
        frame, avail = dialog.frameGeometry(), screen.availableGeometry()
        x = max(avail.left(), min(frame.left(), avail.right() + 1 - frame.width()))
        y = max(avail.top(), min(frame.top(), avail.bottom() + 1 - frame.height()))
        if (x, y) != (frame.left(), frame.top()):
            dialog.move(x, y)
