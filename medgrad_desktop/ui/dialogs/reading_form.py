"""The reading window's form: the questions of one case, answered with the keyboard alone.

Keys: type to filter the diagnosis list (↑ ↓ move, Enter takes the highlighted one); on a scale a digit
picks the value (0 is 10) and moves on to the next question; Tab and Shift+Tab go between questions;
Enter (or Ctrl+Enter anywhere) submits once every question is answered, else goes to the first one
still open. The mouse works too. The form shows nothing about the AI: it is a view of an `AnswerDraft`,
whose questions already follow the arm.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QButtonGroup,
    QFrame,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from medgrad_desktop.ui.state.answer_draft import AnswerDraft, Scale

FOCUS_STYLE = (
    "ScaleRow { border:2px solid transparent; border-radius:5px; }"
    "ScaleRow:focus { border:2px solid #3b82f6; background:#eef4ff; }"
    "QPushButton:checked { background:#1d4ed8; color:white; font-weight:bold; border:1px solid #1e3a8a; }"
)
OK_MARK = "✓"
ENTER_KEYS = (Qt.Key.Key_Return, Qt.Key.Key_Enter)


class FilterEdit(QLineEdit):
    """The diagnosis search box: ↑ ↓ move through the list it filters, Enter takes the highlighted one."""

    moved = Signal(int)  # -1 up, +1 down
    taken = Signal()

    def keyPressEvent(self, event) -> None:  # noqa: N802 - Qt API
        key = event.key()
        if key in (Qt.Key.Key_Up, Qt.Key.Key_Down):
            self.moved.emit(-1 if key == Qt.Key.Key_Up else 1)
            return
        if key in ENTER_KEYS and not event.modifiers() & Qt.KeyboardModifier.ControlModifier:
            self.taken.emit()
            return
        super().keyPressEvent(event)


class ScaleRow(QFrame):
    """One scale question: a row of numbered buttons; with the focus on the row, a digit picks."""

    chosen = Signal(str, int, bool)  # scale key, value, whether to move on to the next question

    def __init__(self, scale: Scale, parent: QWidget | None = None):
        super().__init__(parent)
        self.scale = scale
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setStyleSheet(FOCUS_STYLE)
        col = QVBoxLayout(self)
        col.setContentsMargins(6, 4, 6, 4)
        col.setSpacing(3)
        zero = " · 0 = 10" if scale.high == 10 else ""
        self.title = QLabel(f"<b>{scale.prompt}</b> (1–{scale.high}; keys 1–{min(scale.high, 9)}{zero})")
        col.addWidget(self.title)
        row = QHBoxLayout()
        row.setSpacing(2)
        self.group = QButtonGroup(self)
        self.group.setExclusive(True)
        self.buttons: dict[int, QPushButton] = {}
        for v in range(1, scale.high + 1):
            b = QPushButton(str(v))
            b.setCheckable(True)
            b.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # Tab goes from question to question, not button
            b.setMinimumWidth(30)
            self.group.addButton(b, v)
            self.buttons[v] = b
            row.addWidget(b)
        self.group.idClicked.connect(lambda v: self.chosen.emit(self.scale.key, v, False))
        col.addLayout(row)
        ends = QHBoxLayout()
        ends.addWidget(QLabel(f"1 = {scale.low_words}"))
        ends.addStretch(1)
        ends.addWidget(QLabel(f"{scale.high} = {scale.high_words}"))
        col.addLayout(ends)

    @property
    def value(self) -> int | None:
        v = self.group.checkedId()
        return v if v > 0 else None

    def keyPressEvent(self, event) -> None:  # noqa: N802 - Qt API
        value = self.scale.value_of_key(event.text())
        if value is None and event.key() in (Qt.Key.Key_Left, Qt.Key.Key_Right):
            step = -1 if event.key() == Qt.Key.Key_Left else 1
            value = min(
                self.scale.high, max(1, (self.value or (0 if step > 0 else self.scale.high + 1)) + step)
            )
            self.buttons[value].setChecked(True)
            self.chosen.emit(self.scale.key, value, False)  # the arrows adjust and stay on the row
            return
        if value is None:
            super().keyPressEvent(event)  # Enter and the rest go up to the form
            return
        self.buttons[value].setChecked(True)
        self.chosen.emit(self.scale.key, value, True)


class ReadingForm(QWidget):
    """The questions of the current case; `submitted` fires once with a complete draft."""

    submitted = Signal()

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.draft: AnswerDraft | None = None
        col = QVBoxLayout(self)
        col.setContentsMargins(0, 0, 0, 0)
        col.setSpacing(8)
        self.diagnosis_label = QLabel("<b>Diagnosis</b> (type to search, ↑ ↓, Enter)")
        col.addWidget(self.diagnosis_label)
        self.filter_edit = FilterEdit()
        self.filter_edit.setPlaceholderText("Type the start of a diagnosis…")
        self.filter_edit.setClearButtonEnabled(True)
        col.addWidget(self.filter_edit)
        self.choices = QListWidget()
        self.choices.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # the search box drives it
        self.choices.setMinimumHeight(150)
        col.addWidget(self.choices, 1)
        self.chosen_label = QLabel()
        col.addWidget(self.chosen_label)
        self.scales_box = QVBoxLayout()
        self.scales_box.setSpacing(4)
        col.addLayout(self.scales_box)
        self.rows: dict[str, ScaleRow] = {}
        self.comment_label = QLabel("<b>Comment</b> (optional)")
        col.addWidget(self.comment_label)
        self.comment_edit = QLineEdit()
        self.comment_edit.setPlaceholderText("Optional; Enter submits")
        col.addWidget(self.comment_edit)
        self.hint = QLabel()
        self.hint.setWordWrap(True)
        self.hint.setStyleSheet("color:#555;")
        col.addWidget(self.hint)
        self.submit_button = QPushButton("Submit answer (Enter)")
        self.submit_button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.submit_button.clicked.connect(self.try_submit)
        col.addWidget(self.submit_button)
        self.filter_edit.textChanged.connect(self._filter)
        self.filter_edit.moved.connect(self._move)
        self.filter_edit.taken.connect(self._take_highlighted)
        self.choices.itemClicked.connect(lambda item: self._choose(item.data(Qt.ItemDataRole.UserRole)))
        self.comment_edit.textChanged.connect(self._on_comment)
        for keys in ("Ctrl+Return", "Ctrl+Enter"):
            QShortcut(
                QKeySequence(keys),
                self,
                self.try_submit,
                context=Qt.ShortcutContext.WidgetWithChildrenShortcut,
            )

    # ------------------------------------------------------------------ a new case
    def start(self, draft: AnswerDraft) -> None:
        """Empty questions for a new case, the focus in the diagnosis search."""
        self.draft = draft
        self.filter_edit.blockSignals(True)
        self.filter_edit.clear()
        self.filter_edit.blockSignals(False)
        self.choices.clear()
        for o in draft.options:
            item = QListWidgetItem(o.label)
            item.setData(Qt.ItemDataRole.UserRole, o.id)
            self.choices.addItem(item)
        for row in self.rows.values():
            self.scales_box.removeWidget(row)
            row.deleteLater()
        self.rows = {}
        for s in draft.scales:
            row = ScaleRow(s)
            row.chosen.connect(self._on_scale)
            self.scales_box.addWidget(row)
            self.rows[s.key] = row
        self.comment_label.setVisible(draft.asks_comment)
        self.comment_edit.setVisible(draft.asks_comment)
        self.comment_edit.blockSignals(True)
        self.comment_edit.setText(draft.comment)
        self.comment_edit.blockSignals(False)
        for key, value in draft.values.items():
            if value is not None:
                self.rows[key].buttons[value].setChecked(True)
        self._set_tab_order()
        self._filter("")
        if draft.diagnosis is not None:
            self._choose(draft.diagnosis)
        self._refresh()
        self.filter_edit.setFocus(Qt.FocusReason.OtherFocusReason)

    def _set_tab_order(self) -> None:
        chain = self._chain()
        for a, b in zip(chain, chain[1:], strict=False):
            QWidget.setTabOrder(a, b)

    # ------------------------------------------------------------------ the diagnosis
    def _visible_rows(self) -> list[int]:
        return [i for i in range(self.choices.count()) if not self.choices.item(i).isHidden()]

    def _filter(self, text: str) -> None:
        if self.draft is None:
            return
        found = {o.id for o in self.draft.filtered(text)}
        for i in range(self.choices.count()):
            item = self.choices.item(i)
            item.setHidden(item.data(Qt.ItemDataRole.UserRole) not in found)
        rows = self._visible_rows()
        chosen = [
            i for i in rows if self.choices.item(i).data(Qt.ItemDataRole.UserRole) == self.draft.diagnosis
        ]
        self.choices.setCurrentRow((chosen or rows or [-1])[0] if text or chosen else -1)

    def _move(self, step: int) -> None:
        rows = self._visible_rows()
        if not rows:
            return
        cur = self.choices.currentRow()
        at = rows.index(cur) + step if cur in rows else (0 if step > 0 else len(rows) - 1)
        self.choices.setCurrentRow(rows[max(0, min(len(rows) - 1, at))])

    def _take_highlighted(self) -> None:
        item = self.choices.currentItem()
        if item is not None and not item.isHidden():
            self._choose(item.data(Qt.ItemDataRole.UserRole))
            self._advance_from(self.filter_edit)
        elif self.draft is not None and self.draft.diagnosis is not None:
            self.try_submit()
        else:
            self.hint.setText("No diagnosis matches this search: Backspace to change it.")

    def _choose(self, option_id: str) -> None:
        self.draft.choose(option_id)
        for i in range(self.choices.count()):
            item = self.choices.item(i)
            item.setSelected(item.data(Qt.ItemDataRole.UserRole) == option_id)
        self._refresh()

    # ------------------------------------------------------------------ scales, comment, submit
    def _on_scale(self, key: str, value: int, advance: bool) -> None:
        self.draft.set_value(key, value)
        self._refresh()
        if advance:
            self._advance_from(self.rows[key])

    def _on_comment(self, text: str) -> None:
        if self.draft is not None:
            self.draft.comment = text

    def _chain(self) -> list[QWidget]:
        """The questions in Tab order."""
        chain: list[QWidget] = [self.filter_edit, *self.rows.values()]
        if self.draft is not None and self.draft.asks_comment:
            chain.append(self.comment_edit)
        return chain

    def _advance_from(self, widget: QWidget) -> None:
        """After an answer, to the next question; after the last, to the first still open (if any)."""
        chain = self._chain()
        at = chain.index(widget)
        if at + 1 < len(chain):
            chain[at + 1].setFocus(Qt.FocusReason.TabFocusReason)
        elif self.draft.missing():
            self._field(self.draft.missing()[0]).setFocus(Qt.FocusReason.TabFocusReason)

    def _field(self, name: str) -> QWidget:
        return self.filter_edit if name == "diagnosis" else self.rows[name]

    def keyPressEvent(self, event) -> None:  # noqa: N802 - Qt API
        if event.key() in ENTER_KEYS:
            self.try_submit()
            return
        super().keyPressEvent(event)

    def try_submit(self) -> bool:
        """Submit a complete draft; an incomplete one sends the focus to its first open question."""
        if self.draft is None:
            return False
        missing = self.draft.missing()
        if missing:
            self._field(missing[0]).setFocus(Qt.FocusReason.OtherFocusReason)
            return False
        self.submitted.emit()
        return True

    def _refresh(self) -> None:
        d = self.draft
        if d is None:
            return
        label = next((o.label for o in d.options if o.id == d.diagnosis), None)
        self.chosen_label.setText(
            f"{OK_MARK} Diagnosis: <b>{label}</b>" if label else "Diagnosis: not chosen yet"
        )
        missing = d.missing()
        self.submit_button.setEnabled(not missing)
        names = {"diagnosis": "diagnosis", **{s.key: s.short for s in d.scales}}
        self.hint.setText(
            "Still open: " + ", ".join(names[m] for m in missing) + "."
            if missing
            else "Complete: Enter submits (Shift+Tab goes back to change an answer)."
        )
