"""Edit one method's parameters: a form built from its frozen dataclass, so a new field in
`medgrad_desktop.core.method_params` appears here without UI code. Defaults are the published ones
(ALGORITHM.md); anything else is marked "custom" in the map caption and travels in the cache key."""

from __future__ import annotations

import typing
from dataclasses import fields

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFormLayout,
    QLabel,
    QSpinBox,
    QWidget,
)

from medgrad_desktop.core.method_params import COMBINE_FORMS, METHOD_NAMES, MethodParams, default_params

HIDDEN = ("method", "epsilon", "upsample")
LIMITS = {
    "entropy_radius": (1, 64),
    "alpha": (0.0, 1.0),
    "entropy_levels": (2, 256),
    "entropy_smooth": (0.0, 32.0),
}
# MedGrad's forms in plain words: the box shows the short name, the item's tooltip the whole sentence
OPTION_LABELS = {
    ("combine", "replace"): "replace: literal slide equation",
    ("combine", "multiply"): "multiply: Grad-ECLIP map x entropy, per patch",
    ("combine", "pixel"): "pixel: Grad-ECLIP map x entropy, per pixel",
}
OPTION_TIPS = {("combine", k): v for k, v in COMBINE_FORMS.items()}


class ParamsDialog(QDialog):
    def __init__(self, params: MethodParams, parent: QWidget | None = None):
        super().__init__(parent)
        self.cls = type(params)
        self.method = params.method
        self.setWindowTitle(f"{METHOD_NAMES[self.method]} parameters")
        form = QFormLayout(self)
        hints = typing.get_type_hints(self.cls)
        self.editors: dict[str, QWidget] = {}
        for f in fields(self.cls):
            if f.name in HIDDEN:
                continue
            value = getattr(params, f.name)
            hint = hints[f.name]
            if typing.get_origin(hint) is typing.Literal:
                w = QComboBox()
                for opt in typing.get_args(hint):
                    w.addItem(OPTION_LABELS.get((f.name, opt), str(opt)), opt)
                    w.setItemData(
                        w.count() - 1, OPTION_TIPS.get((f.name, opt), ""), Qt.ItemDataRole.ToolTipRole
                    )
                w.setCurrentIndex(max(0, w.findData(value)))
            elif hint is bool:
                w = QCheckBox()
                w.setChecked(bool(value))
            elif hint is int:
                w = QSpinBox()
                w.setRange(*LIMITS.get(f.name, (0, 10_000)))
                w.setValue(int(value))
            elif hint is float:
                w = QDoubleSpinBox()
                w.setDecimals(3)
                w.setSingleStep(0.05)
                w.setRange(*LIMITS.get(f.name, (-1e6, 1e6)))
                w.setValue(float(value))
            else:
                continue
            self.editors[f.name] = w
            form.addRow(f.name.replace("_", " ") + ":", w)
        note = QLabel(
            "Defaults follow the published method (docs ALGORITHM.md); MedGrad's default form was "
            "chosen by a test fixed in advance (docs EXPLANATIONS.md). Every map, cache entry and "
            "report records the parameters that produced it."
        )
        note.setWordWrap(True)
        note.setStyleSheet("color:#5a6270;")
        form.addRow(note)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok
            | QDialogButtonBox.StandardButton.Cancel
            | QDialogButtonBox.StandardButton.RestoreDefaults
        )
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        buttons.button(QDialogButtonBox.StandardButton.RestoreDefaults).clicked.connect(self.restore_defaults)
        form.addRow(buttons)

    def _set(self, name: str, value) -> None:
        w = self.editors[name]
        if isinstance(w, QComboBox):
            w.setCurrentIndex(max(0, w.findData(value)))
        elif isinstance(w, QCheckBox):
            w.setChecked(bool(value))
        else:
            w.setValue(value)

    def restore_defaults(self) -> None:
        d = default_params(self.method)
        for name in self.editors:
            self._set(name, getattr(d, name))

    def params(self) -> MethodParams:
        values = {}
        for name, w in self.editors.items():
            if isinstance(w, QComboBox):
                values[name] = w.currentData()
            elif isinstance(w, QCheckBox):
                values[name] = w.isChecked()
            else:
                values[name] = w.value()
        return self.cls(**values)
