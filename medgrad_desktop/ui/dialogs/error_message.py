"""The message an unexpected error shows: non-modal, over the window, and the app goes on.

`ErrorMessages` is the listener of `medgrad_desktop.errors`: an error reported in any thread arrives
here through a queued signal, so the message is always made in the UI thread. An error whose message
is still open is not shown a second time (`errors` already holds back repeats within seconds).
"""

from __future__ import annotations

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtWidgets import QMessageBox, QWidget

from medgrad_desktop import errors
from medgrad_desktop.errors import ErrorReport

TITLE = "Something went wrong"


def message_text(action: str) -> str:
    return f"Something went wrong while {action}. Your reviews are saved. Details: Help > Show log"


class ErrorMessages(QObject):
    """Shows each reported error once, non-modal, over `window`."""

    _arrived = Signal(object)  # ErrorReport; emitted in whatever thread the error happened in

    def __init__(self, window: QWidget):
        super().__init__(window)
        self.window = window
        self.open_boxes: dict[tuple[str, str, str], QMessageBox] = {}
        self.shown = 0  # messages made (tests count them)
        self._arrived.connect(self._show)
        listener = self._arrived.emit
        errors.set_listener(listener)
        # a window closed and deleted (tests make many) stops listening; another window takes over
        window.destroyed.connect(lambda *_: errors.clear_listener(listener))

    def _show(self, rep: ErrorReport) -> None:
        if rep.key in self.open_boxes:
            return
        box = QMessageBox(
            QMessageBox.Icon.Warning,
            TITLE,
            message_text(rep.action),
            QMessageBox.StandardButton.Ok,
            self.window,
        )
        box.setWindowModality(Qt.WindowModality.NonModal)
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.finished.connect(lambda _result=0, key=rep.key: self.open_boxes.pop(key, None))
        self.open_boxes[rep.key] = box
        self.shown += 1
        box.show()
