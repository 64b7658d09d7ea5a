"""The target picker of the toolbar: what the map explains. A list of the predicted class, the other
top-k ranks (labelled with the current image's classes), every catalogue class and 7-point criterion
option of the model, and a box for free text. The list follows the model's card, never a file."""

from __future__ import annotations

from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QLineEdit, QSizePolicy, QWidget

from medgrad_desktop.core.prediction import format_probability
from medgrad_desktop.ui.app_model import AppModel
from medgrad_desktop.ui.targets import TargetChoice

RANKS = (2, 3, 4, 5)


class TargetPicker(QWidget):
    def __init__(self, app: AppModel, parent: QWidget | None = None):
        super().__init__(parent)
        self.app = app
        self.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Preferred)  # the toolbar keeps its size hint
        lay = QHBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(QLabel("  Target "))
        self.combo = QComboBox()
        self.combo.setMinimumWidth(260)
        self.combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.combo.setMaxVisibleItems(24)
        self.combo.setToolTip("What the map explains: the predicted class, another top-k class, "
                              "any catalogue class or 7-point criterion")
        self.combo.currentIndexChanged.connect(self._on_combo)
        lay.addWidget(self.combo)
        self.free_text = QLineEdit()
        self.free_text.setPlaceholderText("or type a finding, Enter")
        self.free_text.setFixedWidth(200)
        self.free_text.setToolTip("Explain any text: a class name, a 7-point finding, or your own words")
        self.free_text.returnPressed.connect(lambda: app.set_free_text_target(self.free_text.text()))
        lay.addWidget(self.free_text)
        app.model_changed.connect(self.rebuild)
        app.target_changed.connect(self._follow_choice)
        app.current_changed.connect(self.update_rank_labels)
        self.rebuild()

    def rebuild(self) -> None:
        """Every target the model offers, keeping the chosen one selected."""
        combo, choice, model = self.combo, self.app.target_choice, self.app.model
        combo.blockSignals(True)
        combo.clear()
        combo.addItem("Predicted class", "predicted")
        for r in RANKS:
            combo.addItem(f"Top-{r} class", f"rank:{r}")
        if model is not None:
            combo.insertSeparator(combo.count())
            for c in model.catalogue.classes:
                combo.addItem(f"Class: {c.display_name}", f"class:{c.id}")
            combo.insertSeparator(combo.count())
            for crit in model.catalogue.criteria:
                for o in crit.options:
                    combo.addItem(f"{crit.display_name}: {o.phrase}", f"criterion:{crit.id}:{o.id}")
        if choice.kind == "text":
            combo.insertSeparator(combo.count())
            combo.addItem(f'Text: "{choice.value}"', choice.spec)
        combo.setCurrentIndex(max(0, combo.findData(choice.spec)))
        combo.blockSignals(False)
        self.update_rank_labels()

    def update_rank_labels(self) -> None:
        """Name the classes behind 'Predicted class' and 'Top-k class' for the current image."""
        e = self.app.current_entry
        if e is None:
            return
        p = e.prediction
        for r in (1, *RANKS):
            i = self.combo.findData("predicted" if r == 1 else f"rank:{r}")
            if i < 0:
                continue
            base = "Predicted class" if r == 1 else f"Top-{r} class"
            if p is not None and r <= len(p.class_ids):
                _cid, name, prob = p.top_k(r)[-1]
                self.combo.setItemText(i, f"{base}: {name} ({format_probability(prob)})")
            else:
                self.combo.setItemText(i, base)

    def _on_combo(self, i: int) -> None:
        spec = self.combo.itemData(i)
        if spec:
            self.app.set_target(TargetChoice.from_spec(spec))

    def _follow_choice(self) -> None:
        spec = self.app.target_choice.spec
        if self.app.target_choice.kind == "text":
            self.rebuild()  # the typed text becomes the list's last item
            return
        i = self.combo.findData(spec)
        if i >= 0 and self.combo.currentIndex() != i:
            self.combo.blockSignals(True)
            self.combo.setCurrentIndex(i)
            self.combo.blockSignals(False)
