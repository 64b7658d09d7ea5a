"""Preferences: which weights file and which device. Applying them reloads the model in the worker;
a failed load keeps the previous model and shows the one-line reason."""

from __future__ import annotations

from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QWidget,
)

DEVICES = ("auto", "cpu", "cuda")


class PreferencesDialog(QDialog):
    def __init__(self, weights: str, device: str, parent: QWidget | None = None, reviewer: str = ""):
        super().__init__(parent)
        self.setWindowTitle("Preferences")
        form = QFormLayout(self)
        self.use_demo = QCheckBox("Use the bundled demo model")
        self.use_demo.setChecked(not weights)
        form.addRow(self.use_demo)
        row = QHBoxLayout()
        self.weights_edit = QLineEdit(weights)
        self.weights_edit.setPlaceholderText(".safetensors / .pt / .bin weights file")
        self.browse = QPushButton("Browse…")
        self.browse.clicked.connect(self._browse)
        row.addWidget(self.weights_edit, 1)
        row.addWidget(self.browse)
        holder = QWidget()
        holder.setLayout(row)
        row.setContentsMargins(0, 0, 0, 0)
        form.addRow("Weights file:", holder)
        self.device_combo = QComboBox()
        self.device_combo.addItems(DEVICES)
        if device not in DEVICES:
            self.device_combo.addItem(device)
        self.device_combo.setCurrentText(device or "auto")
        form.addRow("Device:", self.device_combo)
        self.reviewer_edit = QLineEdit(reviewer)
        self.reviewer_edit.setPlaceholderText("recorded with each review decision")
        form.addRow("Reviewer name:", self.reviewer_edit)
        hint = QLabel("The model is reloaded in the background; if loading fails, the current model stays.")
        hint.setWordWrap(True)
        hint.setStyleSheet("color:#5a6270;")
        form.addRow(hint)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)
        self.use_demo.toggled.connect(self._sync)
        self._sync()

    def _sync(self) -> None:
        self.weights_edit.setEnabled(not self.use_demo.isChecked())
        self.browse.setEnabled(not self.use_demo.isChecked())

    def _browse(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self,
            "Choose weights",
            self.weights_edit.text(),
            "Weights (*.safetensors *.pt *.pth *.bin);;All files (*)",
        )
        if path:
            self.weights_edit.setText(path)

    @property
    def weights(self) -> str:
        return "" if self.use_demo.isChecked() else self.weights_edit.text().strip()

    @property
    def reviewer(self) -> str:
        return self.reviewer_edit.text().strip()

    @property
    def device(self) -> str:
        return self.device_combo.currentText()
