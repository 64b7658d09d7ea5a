"""Review by keyboard: A accepts, D opens a chooser to override by typing a few letters and Enter, N puts
the cursor in the note box (Enter saves, Esc leaves). After a decision the grid can move on to the next
image not yet reviewed (a setting, on by default), so a folder is reviewed without the mouse.

The keys are window shortcuts: while a text box has the focus it takes its letters (and its own
Ctrl+Z) first, so typing a note never accepts an image.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, Qt
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import QWidget

from medgrad_desktop.ui.dialogs.override_chooser import OverrideChooser
from medgrad_desktop.ui.state.app_model import AppModel
from medgrad_desktop.ui.widgets.browser import ImageBrowser
from medgrad_desktop.ui.widgets.prediction_panel import PredictionPanel

REVIEW_SHORTCUTS = (
    ("A", "accept the prediction"),
    ("D", "override: type to filter the classes, Enter"),
    ("N", "write a note (Enter saves, Esc leaves)"),
)


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
