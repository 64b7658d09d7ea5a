"""The target picker of the toolbar: what the map explains. A list of the predicted class, the other
top-k ranks the model has (labelled with the current image's classes), every catalogue class and 7-point
criterion option of the model, and a box for free text that completes from the catalogue's phrases.
The list follows the model's card, never a file.

Beside the box, two short lines say what typed text became (a matched class or criterion) or which of
its words the model was never trained on, and whether typed text means anything to this model (its
card's text tower note). A typed target lasts for the current image only, unless the pin beside the box
is down; clearing the box gives the predicted class back."""

from __future__ import annotations

from PySide6.QtCore import QEvent, QStringListModel, Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QCompleter,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QSizePolicy,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from medgrad_desktop.core.prediction import format_probability
from medgrad_desktop.core.text_match import never_trained_text
from medgrad_desktop.ui.state.app_model import AppModel
from medgrad_desktop.ui.state.target_choice import TargetChoice, completion_phrases

MAX_RANK = 5
MATCH_STYLE = "color:#1f4f9c; font-size:10px;"
NOTE_STYLE = "color:#8c1d18; font-size:10px; font-weight:bold;"
UNKNOWN_STYLE = "color:#8c1d18; font-size:10px;"  # not bold: the whole line fits the match line's width
# px of the match line, so the picker stays on the toolbar of a 1024 px window; the tooltip has it whole.
# (Widening it with the window was tried: a picker the toolbar has moved behind its overflow arrow is
# hidden, and a hidden widget's smaller size never reaches the toolbar, so it stayed there.)
MATCH_WIDTH = 240


def offered_ranks(n_classes: int) -> list[int]:
    """The top-k ranks worth offering: 2 .. min(5, classes); a 4-class model has no Top-5."""
    return list(range(2, min(MAX_RANK, n_classes) + 1))


class TargetPicker(QWidget):
    left = Signal()  # Esc in the box: the keys go back to the window

    def __init__(self, app: AppModel, parent: QWidget | None = None):
        super().__init__(parent)
        self.app = app
        self.setSizePolicy(
            QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Preferred
        )  # the toolbar keeps its size hint
        lay = QHBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(QLabel("  Target "))
        self.combo = QComboBox()
        self.combo.setMinimumWidth(200)
        self.combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.combo.setMaxVisibleItems(24)
        self.combo.setToolTip(
            "What the map explains: the predicted class, another top-k class, "
            "any catalogue class or 7-point criterion"
        )
        self.combo.currentIndexChanged.connect(self._on_combo)
        lay.addWidget(self.combo)
        self.free_text = QLineEdit()
        self.free_text.setPlaceholderText("or type (T), Enter")
        self.free_text.setFixedWidth(136)  # with the pin beside it, the row still fits 1024 px
        self.free_text.setToolTip(
            "Explain any text: a class name, a 7-point finding, or your own words "
            "(completes from the catalogue's phrases). T types here, Esc leaves"
        )
        self.phrases = QStringListModel(self)
        self.completer = QCompleter(self.phrases, self)
        self.completer.setCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        self.completer.setFilterMode(Qt.MatchFlag.MatchContains)
        self.free_text.setCompleter(self.completer)
        self.free_text.returnPressed.connect(lambda: app.set_free_text_target(self.free_text.text()))
        self.free_text.textEdited.connect(self._on_edited)
        self.free_text.installEventFilter(self)
        self._text_on_entry = ""  # what the box held when the keyboard came to it: Esc puts it back
        self.free_text.returnPressed.connect(self._applied)
        lay.addWidget(self.free_text)
        self.pin_button = QToolButton()
        self.pin_button.setText("Pin")
        self.pin_button.setCheckable(True)
        self.pin_button.setToolTip(
            "Keep the typed target when the image changes (off: the next image shows its predicted class)"
        )
        self.pin_button.toggled.connect(app.set_pin_typed)
        app.pin_changed.connect(self._follow_pin)
        lay.addWidget(self.pin_button)
        notes = QWidget()  # two short lines stacked, so the toolbar row still fits 1024 px
        nl = QVBoxLayout(notes)
        nl.setContentsMargins(6, 0, 0, 0)
        nl.setSpacing(0)
        self.match_label = QLabel()  # "matched criterion: Blue-whitish veil"
        self.match_label.setStyleSheet(MATCH_STYLE)
        self.unknown_label = QLabel()  # "the model was never trained on: banana" (never with a match)
        self.unknown_label.setStyleSheet(UNKNOWN_STYLE)
        self.text_note = QLabel()  # "⚠ text tower untrained" or "... limited"
        self.text_note.setStyleSheet(NOTE_STYLE)
        for w in (self.match_label, self.unknown_label, self.text_note):
            w.setVisible(False)
            nl.addWidget(w)
        lay.addWidget(notes)
        app.model_changed.connect(self._on_model_changed)
        app.target_changed.connect(self._follow_choice)
        app.current_changed.connect(self.update_rank_labels)
        self.rebuild()

    def _on_model_changed(self) -> None:
        model = self.app.model
        self.phrases.setStringList(completion_phrases(model.catalogue) if model is not None else [])
        note = model.card.text_tower_note if model is not None else ""
        short = "limited" if note.startswith("Text tower limited") else "untrained"
        self.text_note.setText(f"⚠ text tower {short}" if note else "")
        self.text_note.setToolTip(note)
        self.free_text.setToolTip(self.free_text.toolTip().split("\n⚠")[0] + (f"\n⚠ {note}" if note else ""))
        self._show_notes()
        self.rebuild()

    def _show_notes(self) -> None:
        """The match line while a typed text was matched; the text tower note while typed text is the
        target, or beside the box whenever the model's text is untrained."""
        match = self.app.text_match
        self.match_label.ensurePolished()  # the style sheet sets its font size
        metrics = self.match_label.fontMetrics()  # long option names are elided; the tooltip has it all
        self.match_label.setText(metrics.elidedText(match, Qt.TextElideMode.ElideRight, MATCH_WIDTH))
        self.match_label.setToolTip(
            f"Typed text is explained as the catalogue's {match.removeprefix('matched ')}" if match else ""
        )
        self.match_label.setVisible(bool(match))
        unknown = never_trained_text(self.app.unknown_words)
        self.unknown_label.ensurePolished()
        self.unknown_label.setText(
            self.unknown_label.fontMetrics().elidedText(unknown, Qt.TextElideMode.ElideRight, MATCH_WIDTH)
        )
        self.unknown_label.setToolTip(
            f"{unknown}: its map means little (the card lists the words the text tower was trained on)"
            if unknown
            else ""
        )
        self.unknown_label.setVisible(bool(unknown))
        self.text_note.setVisible(bool(self.text_note.text()))

    def focus_free_text(self) -> None:
        """The keyboard to the box (the T key), its text selected so typing replaces it."""
        self.free_text.setFocus(Qt.FocusReason.ShortcutFocusReason)
        self.free_text.selectAll()

    def _applied(self) -> None:
        """Enter applied the text: Esc from now on leaves it as it is."""
        self._text_on_entry = self.free_text.text()

    def eventFilter(self, obj, event) -> bool:  # noqa: N802 - Qt API
        """Esc leaves the box without applying what was typed (the completer's popup, when open, takes
        the first Esc itself)."""
        if obj is self.free_text:
            if event.type() == QEvent.Type.FocusIn and event.reason() not in (
                Qt.FocusReason.PopupFocusReason,  # back from the completer's list: still the same visit
                Qt.FocusReason.ActiveWindowFocusReason,
            ):
                self._text_on_entry = self.free_text.text()
            elif event.type() == QEvent.Type.KeyPress and event.key() == Qt.Key.Key_Escape:
                self.free_text.setText(self._text_on_entry)
                self.left.emit()
                return True
        return super().eventFilter(obj, event)

    def _on_edited(self, text: str) -> None:
        """The box emptied by the user: the predicted class again."""
        if not text.strip() and self.app.typed_target:
            self.app.set_free_text_target("")

    def _follow_pin(self, pinned: bool) -> None:
        if self.pin_button.isChecked() != pinned:
            self.pin_button.setChecked(pinned)

    def rebuild(self) -> None:
        """Every target the model offers, keeping the chosen one selected."""
        combo, choice, model = self.combo, self.app.target_choice, self.app.model
        combo.blockSignals(True)
        combo.clear()
        combo.addItem("Predicted class", "predicted")
        n_classes = len(model.catalogue.classes) if model is not None else 0
        for r in offered_ranks(n_classes):
            combo.addItem(f"Top-{r} class", f"rank:{r}")
        if model is not None:
            combo.insertSeparator(combo.count())
            for c in model.catalogue.classes:
                combo.addItem(f"Class: {c.display_name}", f"class:{c.id}")
            if model.catalogue.criteria:
                combo.insertSeparator(combo.count())
            for crit in model.catalogue.criteria:
                for o in crit.options:
                    combo.addItem(f"{crit.display_name}: {o.phrase}", f"criterion:{crit.id}:{o.id}")
        if choice.kind == "text":
            combo.insertSeparator(combo.count())
            combo.addItem(f'Text: "{choice.value}"', choice.spec)
        i = combo.findData(choice.spec)
        combo.setCurrentIndex(max(0, i))
        combo.blockSignals(False)
        if i < 0 and model is not None and choice.spec != "predicted":
            self.app.set_target(TargetChoice("predicted"))  # the new model has no such target
        self.update_rank_labels()

    def update_rank_labels(self) -> None:
        """Name the classes behind 'Predicted class' and 'Top-k class' for the current image."""
        e = self.app.current_entry
        p = e.prediction if e is not None else None
        for r in range(1, MAX_RANK + 1):
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
        choice = self.app.target_choice
        if choice.kind != "text" and not self.app.text_match:
            self.free_text.clear()  # the box never shows text that is no longer the target
        self._show_notes()
        if choice.kind == "text":
            self.rebuild()  # the typed text becomes the list's last item
            return
        i = self.combo.findData(choice.spec)
        if i >= 0 and self.combo.currentIndex() != i:
            self.combo.blockSignals(True)
            self.combo.setCurrentIndex(i)
            self.combo.blockSignals(False)
