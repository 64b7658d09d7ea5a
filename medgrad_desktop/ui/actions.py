"""Menus, toolbar and keyboard shortcuts of the main window, and the commands behind them that open a
dialog (open a folder, preferences, method parameters, export, help).

Each control acts on the app model or a view; each follows the app model's signals back, so a change
made elsewhere (a test, a restored setting) shows in the toolbar too.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QObject, QSize, Qt, Signal
from PySide6.QtGui import QAction, QGuiApplication, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QApplication,
    QCheckBox,
    QComboBox,
    QDialog,
    QFileDialog,
    QLabel,
    QMainWindow,
    QMessageBox,
    QSpinBox,
    QToolBar,
    QWidget,
)

from medgrad_desktop import __version__
from medgrad_desktop.applog import diagnostic_summary, log_path
from medgrad_desktop.core.card import RESEARCH_NOTICE
from medgrad_desktop.core.method_params import METHOD_NAMES, METHODS, describe
from medgrad_desktop.core.render import COLORMAPS, DEFAULT_OVERLAY_ALPHA, overlay_alpha
from medgrad_desktop.ui.dialogs.export_dialog import ExportDialog, run_export_dialog
from medgrad_desktop.ui.dialogs.log_viewer import LogViewer
from medgrad_desktop.ui.dialogs.params_dialog import ParamsDialog
from medgrad_desktop.ui.dialogs.preferences_dialog import PreferencesDialog
from medgrad_desktop.ui.review_keys import REVIEW_SHORTCUTS
from medgrad_desktop.ui.state.app_model import AppModel
from medgrad_desktop.ui.widgets.browser import ImageBrowser
from medgrad_desktop.ui.widgets.jump_slider import JumpSlider
from medgrad_desktop.ui.widgets.target_picker import TargetPicker
from medgrad_desktop.ui.widgets.viewer_area import ViewerArea
from medgrad_desktop.ui.work.worker import ModelWorker

SHORTCUTS = (
    ("← / →", "previous / next image"),
    *REVIEW_SHORTCUTS,
    ("Ctrl+Z / Ctrl+Shift+Z", "undo / redo a review action (outside text boxes)"),
    ("O", "overlay on / off"),
    ("[ / ]", "overlay opacity − / +"),
    ("1 / 2 / 3", "Grad-CAM / Grad-ECLIP / MedGrad E-CLIP"),
    ("C", "compare the three methods"),
    ("T", "type a target for the map (Enter explains it, Esc leaves the box)"),
    ("+ / − / wheel", "zoom"),
    ("F", "fit the image"),
    ("drag", "pan"),
    ("Ctrl+O", "open a folder"),
    ("Ctrl+R", "analyse the images a cancelled batch left"),
    ("Ctrl+E", "export a report"),
    ("Ctrl+B / Ctrl+I", "show / hide the image grid / the details panel"),
    ("Ctrl+,", "preferences (weights file, device)"),
)


def _action(
    parent: QObject, text: str, slot, shortcut: str | QKeySequence | None = None, checked: bool | None = None
) -> QAction:
    """A menu or toolbar action; `checked` not None makes it a toggle starting in that state."""
    a = QAction(text, parent, checkable=checked is not None)
    if shortcut is not None:
        a.setShortcut(QKeySequence(shortcut))
        a.setToolTip(f"{text.replace('&', '').rstrip('…')} ({a.shortcut().toString()})")
    if checked is None:
        a.triggered.connect(slot)
    else:
        a.setChecked(checked)
        a.toggled.connect(slot)
    return a


def _follow(combo: QComboBox, index: int) -> None:
    """Show a choice made elsewhere without echoing it back as a new choice."""
    combo.blockSignals(True)
    combo.setCurrentIndex(index)
    combo.blockSignals(False)


def show_again(windows: list[QWidget]) -> None:
    """Show the windows the reading window hid; one deleted meanwhile is skipped."""
    for w in windows:
        try:
            w.show()
        except RuntimeError:  # its C++ object is gone
            continue


class MenuActions(QObject):
    stability_toggled = Signal()  # the View menu's stability setting changed (already saved)

    def __init__(
        self,
        window: QMainWindow,
        app: AppModel,
        worker: ModelWorker,
        viewers: ViewerArea,
        browser: ImageBrowser,
        picker: TargetPicker,
        side_panels: dict[str, QWidget],
    ):
        super().__init__(window)
        self.window, self.app, self.worker = window, app, worker
        self.viewers, self.browser, self.picker = viewers, browser, picker
        self.side_panels = side_panels  # "browser" and "details": hidden and shown from the View menu
        self.reading_window: QWidget | None = None  # the reader study's window last opened
        settings = app.settings
        self.open_action = _action(
            window, "&Open folder…", self.open_folder_dialog, QKeySequence.StandardKey.Open
        )
        self.recursive_action = _action(
            window, "Include &subfolders", app.set_recursive, checked=settings.recursive
        )
        self.resume_action = _action(window, "&Analyse remaining images", app.start_predictions, "Ctrl+R")
        self.resume_action.setToolTip("Continue a cancelled batch: analyse the images without a result")
        self.export_action = _action(window, "&Export…", self.run_export, "Ctrl+E")
        self.prefs_action = _action(window, "&Preferences…", self.open_preferences, "Ctrl+,")
        self.undo_action = _action(window, "&Undo review action", app.undo, "Ctrl+Z")
        self.redo_action = _action(window, "&Redo review action", app.redo)
        self.redo_action.setShortcuts([QKeySequence("Ctrl+Shift+Z"), QKeySequence("Ctrl+Y")])
        self.redo_action.setToolTip("Redo review action (Ctrl+Shift+Z)")
        self.advance_action = _action(
            window,
            "&Next unreviewed image after a decision",
            self.set_advance,
            checked=settings.advance_after_review,
        )
        self.advance_action.setToolTip(
            "After A (accept) or D (override), move on to the next image not yet reviewed"
        )
        self.panel_actions = {
            "browser": _action(
                window,
                "Image &grid",
                lambda on: self.set_panel_visible("browser", on),
                "Ctrl+B",
                checked=settings.panel_visible("browser"),
            ),
            "details": _action(
                window,
                "&Details panel",
                lambda on: self.set_panel_visible("details", on),
                "Ctrl+I",
                checked=settings.panel_visible("details"),
            ),
        }
        for a, can in (
            (self.undo_action, app.undo_stack.canUndoChanged),
            (self.redo_action, app.undo_stack.canRedoChanged),
        ):
            a.setEnabled(False)
            can.connect(a.setEnabled)
            window.addAction(a)
        self.params_action = _action(window, "⚙", self.open_params_dialog)
        self.params_action.setToolTip("Parameters of the current method")
        self.overlay_action = _action(
            window, "Overlay (O)", self.set_overlay_visible, "O", checked=settings.overlay_visible
        )
        self.fit_action = _action(window, "Fit", viewers.fit, "F")
        self.compare_action = _action(window, "Compare methods", viewers.set_compare, "C", checked=False)
        self.compare_action.setToolTip("The three methods side by side, zoom and pan in sync (C)")
        self.overlay_action.setToolTip("Show the heatmap over the image (O)")
        self.alpha_action = _action(
            window,
            "Overlay opacity follows &relevance",
            lambda on: app.set_overlay_alpha(DEFAULT_OVERLAY_ALPHA if on else "uniform"),
            checked=not overlay_alpha(app.overlay_alpha).uniform,
        )
        self.alpha_action.setToolTip(
            f"On: the map's colour {overlay_alpha(DEFAULT_OVERLAY_ALPHA).describe()}, so the lesion keeps "
            "its colour where the map is low. Off: the same opacity everywhere"
        )
        self.stability_action = _action(
            window, "Map &stability", self.set_stability_shown, checked=settings.show_stability
        )
        self.stability_action.setToolTip(
            "Measure how much each map moves under faint noise and show it under the map's caption"
        )
        self._build_menus()
        self._build_toolbar()
        self._build_shortcuts()
        viewers.set_overlay_visible(settings.overlay_visible)
        app.method_changed.connect(lambda m: _follow(self.method_combo, METHODS.index(m)))
        app.colormap_changed.connect(lambda name: _follow(self.colormap_combo, list(COLORMAPS).index(name)))
        app.opacity_changed.connect(self._show_opacity)
        for v in viewers.all_viewers():
            v.view_changed.connect(self._show_zoom)
        viewers.compare_changed.connect(self._show_zoom)
        for name, panel in side_panels.items():
            panel.setVisible(settings.panel_visible(name))

    def _build_menus(self) -> None:
        menu = self.window.menuBar()
        file_menu = menu.addMenu("&File")
        file_menu.addAction(self.open_action)
        self.recent_menu = file_menu.addMenu("Open &recent")
        file_menu.addActions([self.recursive_action, self.resume_action])
        file_menu.addSeparator()
        file_menu.addAction(self.export_action)
        file_menu.addSeparator()
        file_menu.addAction(self.prefs_action)
        file_menu.addAction(_action(self.window, "&Quit", self.window.close, QKeySequence.StandardKey.Quit))
        file_menu.aboutToShow.connect(self.fill_recent_menu)
        self.fill_recent_menu()
        edit_menu = menu.addMenu("&Edit")
        edit_menu.addAction(self.undo_action)
        edit_menu.addAction(self.redo_action)
        edit_menu.addSeparator()
        edit_menu.addAction(self.advance_action)
        view_menu = self.view_menu = menu.addMenu("&View")
        for a in (
            self.overlay_action,
            self.alpha_action,
            self.stability_action,
            self.fit_action,
            self.compare_action,
        ):
            view_menu.addAction(a)
        view_menu.addSeparator()
        view_menu.addActions(list(self.panel_actions.values()))
        study_menu = self.study_menu = menu.addMenu("&Study")
        self.start_reading_action = study_menu.addAction("Start &reading…", self.start_reading)
        self.start_reading_action.setToolTip(
            "Read the cases of a reader study created in the project store, one at a time"
        )
        help_menu = menu.addMenu("&Help")
        help_menu.addAction("&Keyboard shortcuts", self.show_shortcuts)
        help_menu.addSeparator()
        self.show_log_action = help_menu.addAction("Show &log", self.show_log)
        self.diagnostics_action = help_menu.addAction("&Copy diagnostic summary", self.copy_diagnostics)
        self.diagnostics_action.setToolTip(
            "Version, platform, model and the last errors, for a support email"
        )
        help_menu.addSeparator()
        help_menu.addAction("&About MedGrad Desktop", self.show_about)

    def _describe_method(self) -> None:
        """The method box's tooltip names the current method and MedGrad's form in plain words."""
        p = self.app.params[self.app.current_method]
        self.method_combo.setToolTip(f"Explanation method (keys 1, 2, 3). Now: {describe(p)}")
        for i, m in enumerate(METHODS):
            self.method_combo.setItemData(i, describe(self.app.params[m]), Qt.ItemDataRole.ToolTipRole)

    def _build_toolbar(self) -> None:
        app = self.app
        tb = QToolBar("Main")
        tb.setObjectName("main-toolbar")
        tb.setMovable(False)
        tb.setIconSize(QSize(18, 18))
        self.window.addToolBar(tb)
        tb.addAction(self.open_action)
        tb.addSeparator()
        tb.addWidget(QLabel(" Method "))
        self.method_combo = QComboBox()
        for i, m in enumerate(METHODS):
            self.method_combo.addItem(f"{i + 1}  {METHOD_NAMES[m]}", m)
        self.method_combo.setCurrentIndex(METHODS.index(app.current_method))
        self._describe_method()
        app.method_changed.connect(lambda _m: self._describe_method())
        app.params_changed.connect(lambda _m: self._describe_method())
        self.method_combo.currentIndexChanged.connect(lambda i: app.set_method(self.method_combo.itemData(i)))
        tb.addWidget(self.method_combo)
        tb.addAction(self.params_action)
        tb.addWidget(self.picker)
        # what the map looks like: a second row, so nothing hides behind the overflow arrow at 1024 px
        self.window.addToolBarBreak()
        tb = QToolBar("View")
        tb.setObjectName("view-toolbar")
        tb.setMovable(False)
        tb.setIconSize(QSize(18, 18))
        self.window.addToolBar(tb)
        self.view_toolbar = tb
        tb.addAction(self.overlay_action)
        tb.addWidget(QLabel(" Opacity "))
        self.opacity_slider = JumpSlider(Qt.Orientation.Horizontal)
        self.opacity_slider.setRange(0, 100)
        self.opacity_slider.setFixedWidth(90)
        self.opacity_slider.setValue(round(app.opacity * 100))
        self.opacity_slider.setToolTip("Overlay opacity ([ and ])")
        self.opacity_slider.valueChanged.connect(lambda v: app.set_opacity(v / 100.0))
        tb.addWidget(self.opacity_slider)
        self.opacity_label = QLabel()
        self.opacity_label.setFixedWidth(self.opacity_label.fontMetrics().horizontalAdvance(" 100 % "))
        tb.addWidget(self.opacity_label)
        self._show_opacity(app.opacity)
        self.colormap_combo = QComboBox()
        for name in COLORMAPS:
            self.colormap_combo.addItem(name, name)
        self.colormap_combo.setToolTip("Colormap (inferno and viridis are perceptually uniform)")
        self.colormap_combo.setCurrentIndex(list(COLORMAPS).index(app.colormap))
        self.colormap_combo.currentIndexChanged.connect(
            lambda i: app.set_colormap(self.colormap_combo.itemData(i))
        )
        tb.addWidget(self.colormap_combo)
        self.contour_check = QCheckBox("Contour ≥ p")
        self.contour_check.setToolTip("Outline the region above this percentile of the map")
        self.contour_spin = QSpinBox()
        self.contour_spin.setRange(50, 99)
        self.contour_spin.setValue(90)
        self.contour_spin.setSuffix("th")
        self.contour_check.toggled.connect(self._apply_contour)
        self.contour_spin.valueChanged.connect(self._apply_contour)
        tb.addWidget(self.contour_check)
        tb.addWidget(self.contour_spin)
        tb.addSeparator()
        tb.addAction(self.fit_action)
        self.zoom_label = QLabel()
        self.zoom_label.setToolTip("Zoom, in percent of the image's own pixels (+ / − / wheel; F fits)")
        self.zoom_label.setFixedWidth(self.zoom_label.fontMetrics().horizontalAdvance(" Zoom 1000 % "))
        tb.addWidget(self.zoom_label)
        tb.addAction(self.compare_action)
        self._show_zoom()

    def _build_shortcuts(self) -> None:
        def shortcut(keys: str | Qt.Key, fn) -> QShortcut:
            s = QShortcut(QKeySequence(keys), self.window)
            s.activated.connect(fn)
            return s

        slider = self.opacity_slider
        self._shortcuts = [
            shortcut(Qt.Key.Key_Right, self.browser.next_image),
            shortcut(Qt.Key.Key_Left, self.browser.previous_image),
            shortcut("[", lambda: slider.setValue(slider.value() - 10)),
            shortcut("]", lambda: slider.setValue(slider.value() + 10)),
            shortcut("+", self.viewers.zoom_in),
            shortcut("=", self.viewers.zoom_in),
            shortcut("-", self.viewers.zoom_out),
            shortcut("T", self.picker.focus_free_text),
        ]
        self.picker.left.connect(lambda: self.browser.grid.setFocus(Qt.FocusReason.ShortcutFocusReason))
        for i, m in enumerate(METHODS):
            self._shortcuts.append(shortcut(str(i + 1), lambda m=m: self.app.set_method(m)))

    # ------------------------------------------------------------------ overlay
    def set_overlay_visible(self, visible: bool) -> None:
        if self.overlay_action.isChecked() != visible:
            self.overlay_action.setChecked(visible)  # toggled calls back
            return
        self.app.settings.overlay_visible = visible
        self.viewers.set_overlay_visible(visible)

    def set_stability_shown(self, on: bool) -> None:
        self.app.settings.show_stability = on
        self.stability_toggled.emit()

    def _show_opacity(self, opacity: float) -> None:
        pct = round(opacity * 100)
        self.opacity_label.setText(f" {pct} %")
        if self.opacity_slider.value() != pct:
            self.opacity_slider.blockSignals(True)
            self.opacity_slider.setValue(pct)
            self.opacity_slider.blockSignals(False)

    def _show_zoom(self, *_args) -> None:
        self.zoom_label.setText(f" Zoom {self.viewers.zoom_percent()} %")

    def set_advance(self, on: bool) -> None:
        self.app.settings.advance_after_review = on

    def set_panel_visible(self, name: str, visible: bool) -> None:
        """Hide or show a side panel, remembered for the next session; the viewer takes the room."""
        self.app.settings.set_panel_visible(name, visible)
        self.side_panels[name].setVisible(visible)
        if self.panel_actions[name].isChecked() != visible:
            self.panel_actions[name].setChecked(visible)

    def _apply_contour(self) -> None:
        self.viewers.set_contour(float(self.contour_spin.value()) if self.contour_check.isChecked() else None)

    # ------------------------------------------------------------------ dialogs
    def open_folder_dialog(self) -> None:
        start = self.app.settings.last_folder or str(Path.home())
        folder = QFileDialog.getExistingDirectory(self.window, "Open a folder of images", start)
        if folder:
            self.app.open_folder(folder)

    def fill_recent_menu(self) -> None:
        self.recent_menu.clear()
        recent = self.app.settings.recent_folders
        for f in recent:
            a = self.recent_menu.addAction(f)
            a.triggered.connect(lambda _=False, f=f: self.app.open_folder(f))
        self.recent_menu.setEnabled(bool(recent))

    def open_preferences(self) -> None:
        settings = self.app.settings
        dlg = PreferencesDialog(settings.weights, settings.device, self.window, settings.reviewer_name)
        if dlg.exec():
            self.app.set_reviewer(dlg.reviewer)
            self.app.apply_preferences(dlg.weights, dlg.device)

    def open_params_dialog(self) -> None:
        dlg = ParamsDialog(self.app.current_params, self.window)
        if dlg.exec():
            self.app.set_params(self.app.current_method, dlg.params())

    def start_reading(self) -> QDialog | None:
        """Study > Start reading: choose a study and a reader; the session opens in its own window.
        The study modules are imported here, on demand: nothing at start-up needs them."""
        from medgrad_desktop.ui.dialogs.study_start import StudyStartDialog

        store = self.app.project.store
        if store is None:
            self._message_box(
                QMessageBox.Icon.Warning,
                "Start reading",
                "The project store is unavailable: no study to read.",
            )
            return None
        model = self.app.model.card.weights_sha256 if self.app.model is not None else None
        dlg = StudyStartDialog(store, model, self.window)
        dlg.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dlg.opened.connect(self.open_reading)
        dlg.open()
        return dlg

    def open_reading(self, session) -> QWidget:
        """The reading window in place of the main window and of every other window the app has open
        (a follow-up view shows other images with their predictions and maps): no grid, no other case,
        no menu behind it; they come back when the reader closes it."""
        from medgrad_desktop.ui.dialogs.reading_window import ReadingWindow

        win = ReadingWindow(session, self.worker, self.window)
        win.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        kinds = (Qt.WindowType.Window, Qt.WindowType.Dialog)
        others = [w for w in QApplication.topLevelWidgets() if w.isVisible() and w.windowType() in kinds]
        behind = [self.window, *(w for w in others if w is not self.window and w is not win)]
        win.closed.connect(lambda: show_again(behind))
        self.reading_window = win
        win.resize(self.window.size())
        for w in behind:
            w.hide()
        win.show()
        win.activateWindow()
        return win

    def run_export(self) -> ExportDialog:
        return run_export_dialog(self.app, self.worker, self.window)

    def _message_box(self, icon: QMessageBox.Icon, title: str, text: str) -> None:
        box = QMessageBox(icon, title, text, QMessageBox.StandardButton.Ok, self.window)
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.open()  # non-blocking

    def show_shortcuts(self) -> None:
        rows = "".join(
            f"<tr><td><b>{k}</b></td><td style='padding-left:12px'>{v}</td></tr>" for k, v in SHORTCUTS
        )
        self._message_box(QMessageBox.Icon.NoIcon, "Keyboard shortcuts", f"<table>{rows}</table>")

    def show_about(self) -> None:
        card = self.app.model.card if self.app.model else None
        model = f"{card.display_name()} (SHA-256 {card.weights_sha256})" if card else "no model loaded"
        box = QMessageBox(
            QMessageBox.Icon.Information,
            "About MedGrad Desktop",
            f"<b>MedGrad Desktop {__version__}</b><br>Explainable CLIP skin-lesion review: "
            f"Grad-CAM, Grad-ECLIP and MedGrad E-CLIP maps.<br><br><b>{RESEARCH_NOTICE}</b><br><br>"
            f"Model: {model}<br><br>Third-party software and its licences: <b>Licences</b>.",
            QMessageBox.StandardButton.Ok,
            self.window,
        )
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.addButton("Licences…", QMessageBox.ButtonRole.ActionRole).clicked.connect(self.show_licences)
        box.open()  # non-blocking

    def show_log(self) -> QDialog:
        """The log file in a read-only viewer (non-modal)."""
        dlg = LogViewer(log_path(), self.window)
        dlg.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dlg.show()
        return dlg

    def copy_diagnostics(self) -> str:
        """Version, platform, model and the last errors to the clipboard, for a support email."""
        clip = self.app.model
        model = (
            f"{clip.card.display_name()}, SHA-256 {clip.card.weights_sha256}, {clip.device}"
            if clip
            else "none"
        )
        text = diagnostic_summary(model)
        QGuiApplication.clipboard().setText(text)
        self.window.statusBar().showMessage(
            "Diagnostic summary copied: paste it into your support email", 8000
        )
        return text

    def show_licences(self) -> QDialog:
        """The third-party notices (the bundle's THIRD-PARTY-NOTICES.txt, or made from the environment);
        imported on demand, as it reads package metadata that nothing at start-up needs."""
        from medgrad_desktop.ui.dialogs.licences_dialog import LicencesDialog

        dlg = LicencesDialog(self.window)
        dlg.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dlg.open()
        return dlg
