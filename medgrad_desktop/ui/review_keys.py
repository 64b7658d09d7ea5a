"""Review by keyboard: A accepts, D opens a chooser to override by typing a few letters and Enter, N puts
the cursor in the note box (Enter saves, Esc leaves). After a decision the grid can move on to the next
image not yet reviewed (a setting, on by default), so a folder is reviewed without the mouse.

The keys are window shortcuts: while a text box has the focus it takes its letters (and its own
Ctrl+Z) first, so typing a note never accepts an image.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, Qt, Signal
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import QDialog, QLabel, QLineEdit, QListWidget, QListWidgetItem, QVBoxLayout, QWidget

from medgrad_desktop.ui.app_model import AppModel
from medgrad_desktop.ui.browser import ImageBrowser
from medgrad_desktop.ui.prediction_panel import PredictionPanel

REVIEW_SHORTCUTS = (
    ("A", "accept the prediction"),
    ("D", "override: type to filter the classes, Enter"),
    ("N", "write a note (Enter saves, Esc leaves)"),
)


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


class ReviewKeys(QObject):
    """The A / D / N shortcuts of a window, and moving on after a decision."""

    def __init__(self, window: QWidget, app: AppModel, browser: ImageBrowser, panel: PredictionPanel):
        super().__init__(window)
        self.window, self.app, self.browser, self.panel = window, app, browser, panel
        self.chooser: OverrideChooser | None = None
        self.shortcuts = []
        for key, slot in (
            ("A", app.accept_prediction),
            ("D", self.open_override_chooser),
            ("N", self.focus_note),
        ):
            s = QShortcut(QKeySequence(key), window)
            s.activated.connect(slot)
            self.shortcuts.append(s)
        panel.note_left.connect(self.leave_note)
        app.review_decided.connect(self._after_decision)

    def open_override_chooser(self) -> OverrideChooser | None:
        e = self.app.current_entry
        if e is None or e.prediction is None:
            self.app.message.emit("Select an analysed image first", 5000)
            return None
        dlg = OverrideChooser(self.panel.classes(), e.prediction.predicted_id, self.window)
        dlg.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dlg.chosen.connect(self.app.override_prediction)
        dlg.finished.connect(self._chooser_closed)
        self.chooser = dlg
        dlg.open()
        dlg.activateWindow()
        dlg.filter_edit.setFocus()
        return dlg

    def _chooser_closed(self) -> None:
        self.chooser = None
        self.window.activateWindow()
        self.browser.grid.setFocus()

    def focus_note(self) -> None:
        if not self.panel.note_edit.isEnabled():
            self.app.message.emit("Select an analysed image first", 5000)
            return
        self.panel.note_edit.setFocus(Qt.FocusReason.ShortcutFocusReason)
        self.panel.note_edit.selectAll()

    def leave_note(self) -> None:
        """Back to the grid, where the review keys and Ctrl+Z act on decisions again."""
        self.browser.grid.setFocus(Qt.FocusReason.ShortcutFocusReason)

    def _after_decision(self) -> None:
        if self.app.settings.advance_after_review:
            self.browser.next_unreviewed()
