"""Help > About > Licences: the third-party notices, read-only, with the file's location to copy it from."""

from __future__ import annotations

from PySide6.QtGui import QFontDatabase
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QLabel, QPlainTextEdit, QVBoxLayout, QWidget

from medgrad_desktop.licences import bundled_notices_path, component_names, notices_text


class LicencesDialog(QDialog):
    """The notices in a scrollable monospace view (licence texts are laid out for a fixed-width font)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Third-party licences")
        self.text = notices_text()
        path = bundled_notices_path()
        where = f"File: {path}" if path else "Made from this Python environment (the app runs from source)."
        count = len(component_names(self.text))
        self.summary = QLabel(f"{count} third-party components. {where}")
        self.summary.setWordWrap(True)
        self.view = QPlainTextEdit(self.text)
        self.view.setReadOnly(True)
        self.view.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        self.view.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.summary)
        layout.addWidget(self.view)
        layout.addWidget(buttons)
        self.resize(900, 640)
