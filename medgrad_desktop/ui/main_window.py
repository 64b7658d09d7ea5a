"""The main window: open a folder, watch the grid fill in, review each image with its heatmap.

The window holds no state of its own beyond its geometry: it builds the views (`ImageBrowser`,
`ViewerArea`, `PredictionPanel`, `TargetPicker`, `AppStatusBar`, `MenuActions`) around one `AppModel`
and one `ModelWorker`, and wires the model's signals to the views that show them. Read the app's state
from `window.app`; submit slow work to `window.worker`. The window never runs the model itself:
predictions, maps and model loading are worker jobs.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QSize, Qt
from PySide6.QtWidgets import (
    QApplication,
    QLabel,
    QLineEdit,
    QMainWindow,
    QMessageBox,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from medgrad_desktop.applog import log_model
from medgrad_desktop.core.card import DEMO_MISSING_NOTE, RESEARCH_NOTICE
from medgrad_desktop.ui.actions import MenuActions
from medgrad_desktop.ui.dialogs.error_message import ErrorMessages
from medgrad_desktop.ui.dialogs.reviewer_name import ask_reviewer_name
from medgrad_desktop.ui.map_controller import MapController
from medgrad_desktop.ui.review_keys import ReviewKeys
from medgrad_desktop.ui.state.app_model import AppModel, ModelFactory
from medgrad_desktop.ui.state.project_bridge import AskReviewer
from medgrad_desktop.ui.state.settings import AppSettings
from medgrad_desktop.ui.widgets.browser import ImageBrowser
from medgrad_desktop.ui.widgets.patient_tree import attach_patient_tree
from medgrad_desktop.ui.widgets.prediction_panel import PredictionPanel
from medgrad_desktop.ui.widgets.status_bar import AppStatusBar
from medgrad_desktop.ui.widgets.target_picker import TargetPicker
from medgrad_desktop.ui.widgets.viewer_area import ViewerArea
from medgrad_desktop.ui.work.worker import ModelWorker, WorkerSettings

if TYPE_CHECKING:  # the window imports no torch: the model arrives from the worker
    from medgrad_desktop.core.model import ClipModel

BANNER_STYLE = (
    "background:#fdecea; color:#8c1d18; border-bottom:1px solid #e5a29d; padding:5px 10px;font-weight:bold;"
)
APP_TITLE = (
    "MedGrad Desktop"  # also the application's display name, which Qt appends unless a title ends with it
)
BROWSER_SHARE, DETAILS_SHARE = 0.19, 0.23  # of the width until the user drags the splitter
NOTICE_STYLE = (
    "background:#fff4ce; color:#5c4400; border-bottom:1px solid #e8d48a; padding:5px 10px;font-weight:bold;"
)


FIRST_START_SIZE = QSize(1520, 920)


def first_start_size(available: QSize) -> QSize:
    """The window's size on a first start: room for the three maps side by side, but never larger than
    the screen (a 1440x900 laptop got a window wider than its screen, the prediction panel cut off)."""
    return QSize(
        min(FIRST_START_SIZE.width(), int(available.width() * 0.95)),
        min(FIRST_START_SIZE.height(), int(available.height() * 0.95)),
    )


class MainWindow(QMainWindow):
    def __init__(
        self,
        settings: AppSettings | None = None,
        model_factory: ModelFactory | None = None,
        parent: QWidget | None = None,
        *,
        worker_settings: WorkerSettings | None = None,
        ask_reviewer: AskReviewer | None = None,
    ):
        """`ask_reviewer` asks for the reviewer's name at the first decision when the settings hold
        none; by default a dialog over this window."""
        super().__init__(parent)
        self.settings = settings or AppSettings()
        self.setWindowTitle(APP_TITLE)
        self.setAcceptDrops(True)
        self.worker = ModelWorker(self, worker_settings)
        self.app = AppModel(self.settings, self.worker, model_factory, self)
        self.app.project.ask_reviewer = ask_reviewer or (lambda: ask_reviewer_name(self))
        self.worker.start()
        self._build_views()
        self.patients_dock = attach_patient_tree(self)
        self.maps = MapController(self.app, self.worker, self.viewers, self)
        self.menus = MenuActions(
            self,
            self.app,
            self.worker,
            self.viewers,
            self.browser,
            self.target_picker,
            {"browser": self.browser, "details": self.panel},
        )
        self.review_keys = ReviewKeys(self, self.app, self.browser, self.panel)
        self.error_messages = ErrorMessages(self)  # every unexpected error, shown once, non-modal
        self._connect()
        self._restore_settings()
        self.app.reload_model()

    def _build_views(self) -> None:
        central = QWidget()
        outer = QVBoxLayout(central)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.setSpacing(0)
        self.notice = QLabel(
            f"⚠ {RESEARCH_NOTICE} Predictions and heatmaps support a clinician's own "
            "judgement; they are not a diagnosis."
        )
        self.notice.setStyleSheet(NOTICE_STYLE)
        self.notice.setWordWrap(True)
        outer.addWidget(self.notice)
        self.banner = QLabel()  # the chosen weights failed at startup and the demo model stands in
        self.banner.setStyleSheet(BANNER_STYLE)
        self.banner.setWordWrap(True)
        self.banner.setVisible(False)
        outer.addWidget(self.banner)
        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        self.splitter.setChildrenCollapsible(False)
        self._user_sized = False  # the user dragged the splitter, or a saved layout was restored
        self.splitter.splitterMoved.connect(self._on_splitter_moved)
        outer.addWidget(self.splitter, 1)
        self.setCentralWidget(central)
        self.browser = ImageBrowser(self.app)
        self.viewers = ViewerArea()
        self.panel = PredictionPanel()
        self.panel.setMinimumWidth(250)
        for i, (w, stretch) in enumerate(((self.browser, 0), (self.viewers, 1), (self.panel, 0))):
            self.splitter.addWidget(w)
            self.splitter.setStretchFactor(i, stretch)
        self.target_picker = TargetPicker(self.app)
        self.status_bar = AppStatusBar()
        self.setStatusBar(self.status_bar)

    def _connect(self) -> None:
        app, panel, status = self.app, self.panel, self.status_bar
        for signal, slot in (  # each signal once, so the order of the rows does not matter
            (panel.accept_requested, app.accept_prediction),
            (panel.override_requested, app.override_prediction),
            (panel.note_requested, app.set_note),
            (panel.reset_requested, app.reset_review),
            (status.cancel_button.clicked, app.cancel_batch),
            (app.message, status.showMessage),
            (app.model_loading, status.model_loading),
            (app.model_changed, self._on_model_changed),
            (app.model_failed, self._on_model_failed),
            (app.predictions.started, status.batch_started),
            (app.predictions.progress, status.batch_progress),
            (app.predictions.finished, status.batch_finished),
            (app.folder_opened, self._on_folder_opened),
            (app.current_changed, self._show_current),
            (app.predictions_finished, self._show_current),
            (app.colormap_changed, self.viewers.set_colormap),
            (app.opacity_changed, self.viewers.set_opacity),
            (app.overlay_alpha_changed, self.viewers.set_alpha),
            (app.fallback, self._on_fallback),
            (app.review_changed, self._on_review_changed),
            (self.menus.stability_toggled, self.maps.show_stability),
        ):
            signal.connect(slot)

    def _restore_settings(self) -> None:
        if self.settings.geometry is not None:
            self.restoreGeometry(self.settings.geometry)
        else:
            self.resize(first_start_size(self.screen().availableGeometry().size()))
        if self.settings.splitter_state is not None:
            self._user_sized = self.splitter.restoreState(self.settings.splitter_state)
        self.viewers.set_opacity(self.app.opacity)
        self.viewers.set_alpha(self.app.overlay_alpha)
        self.viewers.set_colormap(self.app.colormap)

    # ------------------------------------------------------------------ layout
    def _on_splitter_moved(self) -> None:
        self._user_sized = True

    def fit_side_panels(self) -> None:
        """Give the side panels their shares of the width and the viewer the rest (at 1280 px, about 58 %)."""
        w = self.splitter.width()
        browser = max(self.browser.minimumSizeHint().width(), round(w * BROWSER_SHARE))
        details = max(self.panel.minimumWidth(), round(w * DETAILS_SHARE))
        self.splitter.setSizes([browser, max(0, w - browser - details), details])

    def resizeEvent(self, event) -> None:  # noqa: N802 - Qt API
        super().resizeEvent(event)
        if not self._user_sized:
            self.fit_side_panels()

    # ------------------------------------------------------------------ the app model's news
    def _on_fallback(self, note: str) -> None:
        self.banner.setText(f"⚠ {note}")
        self.banner.setVisible(True)

    def _on_model_changed(self, clip: ClipModel) -> None:
        card = clip.card
        log_model(card.display_name(), card.weights_sha256, str(clip.device))
        self.status_bar.model_ready(clip)
        note = card.extra.get("notes", "")
        self.panel.set_model(card, str(clip.device), error=note if note == DEMO_MISSING_NOTE else "")
        self.panel.set_classes([(c.id, c.display_name) for c in clip.catalogue.classes])

    def _on_model_failed(self, message: str) -> None:
        line = f"Model not loaded: {message}"
        model = self.app.model
        self.status_bar.model_failed(model)
        if model is None:
            self.panel.set_model(None, error=line)
        else:
            self.panel.set_model(model.card, str(model.device), error=f"{line} (kept the previous model)")
        box = QMessageBox(
            QMessageBox.Icon.Warning, "Model not loaded", line, QMessageBox.StandardButton.Ok, self
        )
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.open()  # non-blocking

    def _on_folder_opened(self, folder: str) -> None:
        self.setWindowTitle(f"{Path(folder).name} — {APP_TITLE}")
        if not isinstance(QApplication.focusWidget(), QLineEdit):
            self.browser.grid.setFocus()  # the review keys work at once, without a click

    def _show_current(self) -> None:
        e = self.app.current_entry
        if e is None:
            self.panel.clear(self.app.no_entry_text())
            return
        self.panel.set_entry(e.name, str(e.path), e.prediction, e.error, waiting=not self.app.batch_cancelled)
        self._update_review_panel()

    def _update_review_panel(self) -> None:
        e = self.app.current_entry
        self.panel.set_review(self.app.review_of(e.sha256) if e else None, self.app.class_names())

    def _on_review_changed(self, sha: str) -> None:
        e = self.app.current_entry
        if e is not None and e.sha256 == sha:
            self._update_review_panel()

    # ------------------------------------------------------------------ dropping a folder, closing
    def dragEnterEvent(self, event) -> None:  # noqa: N802 - Qt API
        if event.mimeData().hasUrls() and any(u.isLocalFile() for u in event.mimeData().urls()):
            event.acceptProposedAction()

    def dropEvent(self, event) -> None:  # noqa: N802 - Qt API
        for url in event.mimeData().urls():
            if url.isLocalFile():
                p = Path(url.toLocalFile())
                self.app.open_folder(p if p.is_dir() else p.parent)
                event.acceptProposedAction()
                return

    def closeEvent(self, event) -> None:  # noqa: N802 - Qt API
        self.settings.geometry = self.saveGeometry()
        self.settings.splitter_state = self.splitter.saveState()
        self.settings.sync()
        if not self.worker.stop(10_000):
            # a model load cannot be interrupted; destroying a running QThread would crash, so wait
            self.status_bar.showMessage("Waiting for the model to finish loading before closing…")
            self.worker.wait()
        super().closeEvent(event)

    def shutdown(self) -> None:
        """Stop the worker without closing (tests that never showed the window)."""
        self.worker.stop()
