"""The chooser D opens to override a prediction from the keyboard: type a few letters of a class,
Up/Down, Enter."""

from __future__ import annotations

from PySide6.QtCore import QEvent, Qt, Signal
from PySide6.QtWidgets import QDialog, QLabel, QLineEdit, QListWidget, QListWidgetItem, QVBoxLayout, QWidget


class OverrideChooser(QDialog):
    """A small list of the classes with a filter box: type a few letters, Up/Down, Enter chooses."""

    chosen = Signal(str)  # class id

    def __init__(self, classes: list[tuple[str, str]], predicted: str, parent: QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle("Override the prediction")
        lay = QVBoxLayout(self)
        lay.addWidget(QLabel("Settle on which class? Type to filter, Enter to choose, Esc to cancel."))
        self.filter_edit = QLineEdit()
        self.filter_edit.setPlaceholderText("type a few letters of the class")
        self.filter_edit.textChanged.connect(self._filter)
        self.filter_edit.installEventFilter(self)
        lay.addWidget(self.filter_edit)
        self.list = QListWidget()
        for cid, name in classes:
            item = QListWidgetItem(name + ("   (predicted)" if cid == predicted else ""))
            item.setData(Qt.ItemDataRole.UserRole, cid)
            self.list.addItem(item)
        self.list.itemActivated.connect(lambda _item: self._choose())
        lay.addWidget(self.list)
        self.resize(320, 360)
        self._filter("")

    def visible_ids(self) -> list[str]:
        return [
            self.list.item(i).data(Qt.ItemDataRole.UserRole)
            for i in range(self.list.count())
            if not self.list.item(i).isHidden()
        ]

    def _filter(self, text: str) -> None:
        words = text.lower().split()
        first = None
        for i in range(self.list.count()):
            item = self.list.item(i)
            hide = not all(w in item.text().lower() for w in words)
            item.setHidden(hide)
            if not hide and first is None:
                first = item
        self.list.setCurrentItem(first)

    def _move(self, step: int) -> None:
        rows = [i for i in range(self.list.count()) if not self.list.item(i).isHidden()]
        if not rows:
            return
        cur = self.list.currentRow()
        pos = rows.index(cur) if cur in rows else 0
        self.list.setCurrentRow(rows[max(0, min(len(rows) - 1, pos + step))])

    def eventFilter(self, obj, event) -> bool:  # noqa: N802 - Qt API
        if obj is self.filter_edit and event.type() == QEvent.Type.KeyPress:
            if event.key() in (Qt.Key.Key_Down, Qt.Key.Key_Up):
                self._move(1 if event.key() == Qt.Key.Key_Down else -1)
                return True
            if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
                self._choose()
                return True
        return super().eventFilter(obj, event)

    def _choose(self) -> None:
        item = self.list.currentItem()
        if item is None or item.isHidden():
            return  # nothing matches: stay open, the user types on or presses Esc
        self.chosen.emit(item.data(Qt.ItemDataRole.UserRole))
        self.accept()
