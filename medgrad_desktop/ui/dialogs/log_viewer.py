"""Help > Show log: the app's log file, read-only, newest lines at the bottom, with a button that
opens its folder in the desktop's file manager (for attaching the file to a support email)."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QUrl
from PySide6.QtGui import QDesktopServices, QFontDatabase, QTextCursor
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QLabel, QPlainTextEdit, QVBoxLayout, QWidget

TAIL_BYTES = 400_000  # the end of the file: the current run and some before it


def read_tail(path: Path, limit: int = TAIL_BYTES) -> str:
    """The last `limit` bytes of the log, from a whole line on; a note when there is no log yet."""
    try:
        with open(path, "rb") as f:
            size = f.seek(0, 2)
            f.seek(max(0, size - limit))
            data = f.read()
    except FileNotFoundError:
        return f"No log yet: {path} does not exist."
    if size > limit:
        data = data[data.find(b"\n") + 1 :]
    return data.decode("utf-8", "replace")


class LogViewer(QDialog):
    def __init__(self, path: Path, parent: QWidget | None = None):
        super().__init__(parent)
        self.path = Path(path)
        self.setWindowTitle("MedGrad Desktop log")
        self.resize(980, 620)
        lay = QVBoxLayout(self)
        where = QLabel(f"{self.path} (private to your account; attach it to a support email if asked)")
        where.setWordWrap(True)
        lay.addWidget(where)
        self.text = QPlainTextEdit()
        self.text.setReadOnly(True)
        self.text.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        self.text.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        lay.addWidget(self.text, 1)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.addButton("Refresh", QDialogButtonBox.ButtonRole.ActionRole).clicked.connect(self.refresh)
        buttons.addButton("Open folder", QDialogButtonBox.ButtonRole.ActionRole).clicked.connect(
            self.open_folder
        )
        buttons.rejected.connect(self.reject)
        lay.addWidget(buttons)
        self.refresh()

    def refresh(self) -> None:
        self.text.setPlainText(read_tail(self.path))
        self.text.moveCursor(QTextCursor.MoveOperation.End)

    def open_folder(self) -> None:
        QDesktopServices.openUrl(QUrl.fromLocalFile(str(self.path.parent)))
