"""The main window: open a folder, watch the grid fill in, review each image with its heatmap.

What an exporter (issue 5, `medgrad_desktop.ui.export_dialog.run_export_dialog(main_window)`) can
read from a `MainWindow`:

- `current_folder` (Path | None) and `entries` (list of `ImageEntry`: path, sha256, prediction,
  error; in folder order), `current_entry` and `selected_entries()` (in grid order);
- `current_method` ("gradcam" | "grad-eclip" | "medgrad"), `current_params` (its params dataclass),
  `params` (all three), `target_choice` (`TargetChoice`; `.resolve(catalogue, prediction)` gives the
  `Target` for one image), `colormap` and `opacity`;
- `model` (the loaded `ClipModel`, or None; read its card and catalogue, never run it on the UI
  thread), `review_store` (`ReviewStore` of the folder) and `worker` (the `ModelWorker`: run the
  export as a job with `worker.submit(fn, kind="export", total=n)`, see `medgrad_desktop.ui.worker`),
  and `cached_map(entry, method, target)` for maps already computed.

The window never runs the model itself: predictions, maps and model loading are worker jobs.
"""

from __future__ import annotations

import importlib.util
import math
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QItemSelectionModel, QSize, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QKeySequence, QPixmap, QShortcut, QUndoStack
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListView,
    QMainWindow,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QSizePolicy,
    QSlider,
    QSpinBox,
    QSplitter,
    QStackedWidget,
    QToolBar,
    QVBoxLayout,
    QWidget,
)

from medgrad_desktop.audit import log_event
from medgrad_desktop.core.classify import format_probability
from medgrad_desktop.core.explain import METHOD_NAMES, METHODS, Heatmap, MethodParams, default_params
from medgrad_desktop.core.imageio import list_images, load_image
from medgrad_desktop.core.model import RESEARCH_NOTICE, ClipModel, ModelLoadError, load_model
from medgrad_desktop.core.prompts import Target
from medgrad_desktop.core.render import COLORMAPS
from medgrad_desktop.review import ReviewRecord, ReviewStore
from medgrad_desktop.ui.cache import LRUCache, map_key
from medgrad_desktop.ui.entries import ImageEntry
from medgrad_desktop.ui.jobs import MapRequest, MapResult, PredictItem, compute_maps, predict_batch
from medgrad_desktop.ui.prediction_panel import PredictionPanel
from medgrad_desktop.ui.preferences import PreferencesDialog
from medgrad_desktop.ui.review_commands import ReviewCommand
from medgrad_desktop.ui.settings import AppSettings
from medgrad_desktop.ui.targets import TargetChoice
from medgrad_desktop.ui.thumbnails import (
    EntryRole,
    ThumbnailFilter,
    ThumbnailModel,
    TileDelegate,
    display_qimage,
)
from medgrad_desktop.ui.viewer import ColorBar, ImageViewer, ViewerGroup, overlay_map
from medgrad_desktop.ui.worker import JobHandle, ModelWorker

ModelFactory = Callable[[str, str], ClipModel]  # (weights or "" for the demo, device) -> model
DEMO_MISSING_NOTE = "bundled demo model missing: using an UNTRAINED random MedGrad-Tiny model"
NOTICE_STYLE = ("background:#fff4ce; color:#5c4400; border-bottom:1px solid #e8d48a; padding:5px 10px;"
                "font-weight:bold;")
EXPORT_MODULE = "medgrad_desktop.ui.export_dialog"


def default_model_factory(weights: str, device: str) -> ClipModel:
    """The chosen weights, or the bundled demo model; if the demo is missing, an untrained tiny model
    whose card says so (the UI then shows the UNTRAINED warning everywhere)."""
    if weights:
        return load_model(weights, device=device)
    try:
        return load_model(None, device=device)
    except ModelLoadError:
        clip = load_model(random_init=True, architecture="MedGrad-Tiny", device=device)
        clip.card.extra["notes"] = DEMO_MISSING_NOTE
        return clip


def _eta_text(eta: float) -> str:
    if math.isnan(eta):
        return "ETA …"
    if eta < 60:
        return f"ETA {eta:.0f} s"
    return f"ETA {eta // 60:.0f} min {eta % 60:02.0f} s"


class MainWindow(QMainWindow):
    folder_opened = Signal(str)
    predictions_finished = Signal()
    map_shown = Signal(str)  # method
    model_ready = Signal()

    def __init__(self, settings: AppSettings | None = None, model_factory: ModelFactory | None = None,
                 parent: QWidget | None = None):
        super().__init__(parent)
        self.settings = settings or AppSettings()
        self.model_factory = model_factory or default_model_factory
        self.setWindowTitle("MedGrad Desktop")
        self.setAcceptDrops(True)

        self.current_folder: Path | None = None
        self.entries: list[ImageEntry] = []
        self.review_store: ReviewStore | None = None
        self.params: dict[str, MethodParams] = {m: self.settings.method_params(m) for m in METHODS}
        self.current_method = self.settings.method if self.settings.method in METHODS else "medgrad"
        self.target_choice = TargetChoice("predicted")
        self.colormap = self.settings.colormap if self.settings.colormap in COLORMAPS else "inferno"
        self.map_cache = LRUCache(4000)
        self.rgb_cache = LRUCache(6)  # path -> (sha256, rgb, QPixmap for the viewers)
        self.pred_cache: dict[tuple[str, str], object] = {}
        self.model_error = ""
        self._model: ClipModel | None = None
        self._current_row: int | None = None
        self._shown_path: Path | None = None  # the image the viewers show
        self._batch: JobHandle | None = None
        self._batch_entries: list[ImageEntry] | None = None
        self._map_job: JobHandle | None = None
        self._map_job_key: tuple | None = None
        self._load_job: JobHandle | None = None
        self._image_job: JobHandle | None = None
        self.undo_stack = QUndoStack(self)

        self.worker = ModelWorker(self)
        self.worker.model_changed.connect(self._on_model_changed)
        self.worker.start()

        self._build_ui()
        self._build_actions()
        self._restore_settings()
        self.reload_model()

    # ------------------------------------------------------------------ properties for exporters
    @property
    def model(self) -> ClipModel | None:
        """The model the UI shows (set when the worker's `model_changed` reached the UI thread)."""
        return self._model

    @property
    def current_params(self) -> MethodParams:
        return self.params[self.current_method]

    @property
    def current_entry(self) -> ImageEntry | None:
        return self.entries[self._current_row] if self._current_row is not None else None

    @property
    def opacity(self) -> float:
        return self.opacity_slider.value() / 100.0

    def selected_entries(self) -> list[ImageEntry]:
        rows = sorted(self.grid.selectionModel().selectedIndexes(), key=lambda i: i.row())
        return [i.data(EntryRole) for i in rows]

    def cached_map(self, entry: ImageEntry, method: str, target: Target) -> Heatmap | None:
        if self.model is None or not entry.sha256:
            return None
        return self.map_cache.get(map_key(entry.sha256, self.model.card.weights_sha256, self.params[method],
                                          target.key))

    # ------------------------------------------------------------------ UI construction
    def _build_ui(self) -> None:
        central = QWidget()
        outer = QVBoxLayout(central)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.setSpacing(0)
        self.notice = QLabel(f"⚠ {RESEARCH_NOTICE} Predictions and heatmaps support a clinician's own "
                             "judgement; they are not a diagnosis.")
        self.notice.setStyleSheet(NOTICE_STYLE)
        self.notice.setWordWrap(True)
        outer.addWidget(self.notice)

        splitter = QSplitter(Qt.Orientation.Horizontal)
        outer.addWidget(splitter, 1)
        self.setCentralWidget(central)

        # left: filter bar + grid
        left = QWidget()
        ll = QVBoxLayout(left)
        ll.setContentsMargins(6, 6, 0, 6)
        fl = QHBoxLayout()
        self.sort_combo = QComboBox()
        for label, key in (("Sort: name", "name"), ("Sort: confidence ↑", "confidence"),
                           ("Sort: confidence ↓", "confidence-desc"), ("Sort: class", "class"),
                           ("Sort: review", "review")):
            self.sort_combo.addItem(label, key)
        self.sort_combo.currentIndexChanged.connect(self._apply_sort)
        fl.addWidget(self.sort_combo)
        self.review_filter = QComboBox()
        for label, key in (("All reviews", ""), ("Pending", "pending"), ("Accepted", "accepted"),
                           ("Overridden", "overridden")):
            self.review_filter.addItem(label, key)
        self.review_filter.currentIndexChanged.connect(self._apply_filter)
        fl.addWidget(self.review_filter)
        ll.addLayout(fl)
        fl2 = QHBoxLayout()
        self.class_filter = QComboBox()
        self.class_filter.addItem("All classes", "")
        self.class_filter.currentIndexChanged.connect(self._apply_filter)
        fl2.addWidget(self.class_filter, 1)
        self.low_only = QCheckBox("Low confidence")
        self.low_only.toggled.connect(self._apply_filter)
        fl2.addWidget(self.low_only)
        ll.addLayout(fl2)
        self.thumb_model = ThumbnailModel(self._review_of, self)
        self.thumb_model.low_confidence = self.settings.low_confidence
        self.proxy = ThumbnailFilter(self)
        self.proxy.setSourceModel(self.thumb_model)
        self.grid = QListView()
        self.grid.setViewMode(QListView.ViewMode.IconMode)
        self.grid.setResizeMode(QListView.ResizeMode.Adjust)
        self.grid.setMovement(QListView.Movement.Static)
        self.grid.setUniformItemSizes(True)
        self.grid.setSpacing(2)
        self.grid.setSelectionMode(QListView.SelectionMode.ExtendedSelection)
        self.grid.setItemDelegate(TileDelegate(self.grid))
        self.grid.setModel(self.proxy)
        self.grid.selectionModel().currentChanged.connect(self._on_current_changed)
        self.grid.setMinimumWidth(200)
        ll.addWidget(self.grid, 1)
        self.empty_hint = QLabel("Open a folder (Ctrl+O) or drop one here.")
        self.empty_hint.setStyleSheet("color:#5a6270; padding:8px;")
        self.empty_hint.setWordWrap(True)
        ll.addWidget(self.empty_hint)
        splitter.addWidget(left)

        # centre: single viewer + colour bar, or three viewers side by side
        self.view_stack = QStackedWidget()
        single = QWidget()
        sl = QHBoxLayout(single)
        sl.setContentsMargins(0, 0, 0, 0)
        sl.setSpacing(0)
        vcol = QVBoxLayout()
        vcol.setContentsMargins(0, 0, 0, 0)
        self.map_caption = QLabel("")
        self.map_caption.setStyleSheet("background:#2b3038; color:#e8ebf0; padding:4px 8px;")
        self.map_caption.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        vcol.addWidget(self.map_caption)
        self.viewer = ImageViewer()
        vcol.addWidget(self.viewer, 1)
        sl.addLayout(vcol, 1)
        self.colorbar = ColorBar()
        sl.addWidget(self.colorbar)
        self.view_stack.addWidget(single)
        compare = QWidget()
        cl = QHBoxLayout(compare)
        cl.setContentsMargins(0, 0, 0, 0)
        cl.setSpacing(2)
        self.compare_viewers: dict[str, ImageViewer] = {}
        self.compare_captions: dict[str, QLabel] = {}
        for m in METHODS:
            col = QVBoxLayout()
            cap = QLabel(METHOD_NAMES[m])
            cap.setStyleSheet("background:#2b3038; color:#e8ebf0; padding:4px 8px;")
            cap.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)  # never widens the window
            col.addWidget(cap)
            v = ImageViewer()
            col.addWidget(v, 1)
            cl.addLayout(col, 1)
            self.compare_viewers[m] = v
            self.compare_captions[m] = cap
        self.compare_colorbar = ColorBar()
        cl.addWidget(self.compare_colorbar)
        self.compare_group = ViewerGroup(list(self.compare_viewers.values()))
        self.view_stack.addWidget(compare)
        splitter.addWidget(self.view_stack)

        # right: prediction panel
        self.panel = PredictionPanel()
        self.panel.setMinimumWidth(300)
        self.panel.accept_requested.connect(self.accept_prediction)
        self.panel.override_requested.connect(self.override_prediction)
        self.panel.note_requested.connect(self.set_note)
        self.panel.reset_requested.connect(self.reset_review)
        splitter.addWidget(self.panel)
        splitter.setStretchFactor(0, 0)
        splitter.setStretchFactor(1, 1)
        splitter.setStretchFactor(2, 0)
        splitter.setSizes([400, 760, 360])
        self.splitter = splitter

        # status bar
        sb = self.statusBar()
        self.progress = QProgressBar()
        self._pending_progress: tuple[int, int, float] | None = None
        self._progress_timer = QTimer(self)
        self._progress_timer.setSingleShot(True)
        self._progress_timer.setInterval(120)
        self._progress_timer.timeout.connect(self._show_progress)
        self.progress.setMaximumWidth(260)
        self.progress.setVisible(False)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setVisible(False)
        self.cancel_button.clicked.connect(self.cancel_batch)
        self.model_label = QLabel("Loading model…")
        self.warning_status = QLabel()
        self.warning_status.setStyleSheet("color:#8c1d18; font-weight:bold;")
        self.notice_status = QLabel(RESEARCH_NOTICE)
        self.notice_status.setStyleSheet("color:#5c4400; font-weight:bold;")
        sb.addPermanentWidget(self.progress)
        sb.addPermanentWidget(self.cancel_button)
        sb.addPermanentWidget(self.model_label)
        sb.addPermanentWidget(self.warning_status)
        sb.addPermanentWidget(self.notice_status)

    def _build_actions(self) -> None:
        menu = self.menuBar()
        file_menu = menu.addMenu("&File")
        self.open_action = QAction("&Open folder…", self, shortcut=QKeySequence.StandardKey.Open)
        self.open_action.triggered.connect(self.open_folder_dialog)
        file_menu.addAction(self.open_action)
        self.recent_menu = file_menu.addMenu("Open &recent")
        self.recursive_action = QAction("Include &subfolders", self, checkable=True)
        self.recursive_action.setChecked(self.settings.recursive)
        self.recursive_action.toggled.connect(self._on_recursive_toggled)
        file_menu.addAction(self.recursive_action)
        self.resume_action = QAction("&Analyse remaining images", self, shortcut=QKeySequence("Ctrl+R"))
        self.resume_action.setToolTip("Continue a cancelled batch: analyse the images without a result")
        self.resume_action.triggered.connect(self.start_predictions)
        file_menu.addAction(self.resume_action)
        file_menu.addSeparator()
        self.export_action = QAction("&Export…", self, shortcut=QKeySequence("Ctrl+E"))
        self.export_action.triggered.connect(self.run_export)
        if importlib.util.find_spec(EXPORT_MODULE) is None:
            self.export_action.setEnabled(False)
            self.export_action.setToolTip("report export not installed")
            self.export_action.setStatusTip("report export not installed")
        file_menu.addAction(self.export_action)
        file_menu.addSeparator()
        self.prefs_action = QAction("&Preferences…", self, shortcut=QKeySequence("Ctrl+,"))
        self.prefs_action.triggered.connect(self.open_preferences)
        file_menu.addAction(self.prefs_action)
        quit_action = QAction("&Quit", self, shortcut=QKeySequence.StandardKey.Quit)
        quit_action.triggered.connect(self.close)
        file_menu.addAction(quit_action)
        file_menu.aboutToShow.connect(self._fill_recent_menu)
        self._fill_recent_menu()

        edit_menu = menu.addMenu("&Edit")
        self.undo_action = QAction("&Undo", self, shortcut=QKeySequence("Ctrl+Z"))
        self.undo_action.triggered.connect(self.undo)
        self.undo_action.setEnabled(False)
        self.undo_stack.canUndoChanged.connect(self.undo_action.setEnabled)
        self.redo_action = QAction("&Redo", self)
        self.redo_action.setShortcuts([QKeySequence("Ctrl+Shift+Z"), QKeySequence("Ctrl+Y")])
        self.redo_action.triggered.connect(self.redo)
        self.redo_action.setEnabled(False)
        self.undo_stack.canRedoChanged.connect(self.redo_action.setEnabled)
        edit_menu.addAction(self.undo_action)
        edit_menu.addAction(self.redo_action)
        self.addAction(self.undo_action)
        self.addAction(self.redo_action)

        tb = QToolBar("Main")
        tb.setObjectName("main-toolbar")
        tb.setMovable(False)
        tb.setIconSize(QSize(18, 18))
        self.addToolBar(tb)
        tb.addAction(self.open_action)
        tb.addSeparator()
        tb.addWidget(QLabel(" Method "))
        self.method_combo = QComboBox()
        for i, m in enumerate(METHODS):
            self.method_combo.addItem(f"{i + 1}  {METHOD_NAMES[m]}", m)
        self.method_combo.setToolTip("Explanation method (keys 1, 2, 3)")
        self.method_combo.setCurrentIndex(METHODS.index(self.current_method))
        self.method_combo.currentIndexChanged.connect(
            lambda i: self.set_method(self.method_combo.itemData(i)))
        tb.addWidget(self.method_combo)
        self.params_action = QAction("⚙", self)
        self.params_action.setToolTip("Parameters of the current method")
        self.params_action.triggered.connect(self.open_params_dialog)
        tb.addAction(self.params_action)
        tb.addWidget(QLabel("  Target "))
        self.target_combo = QComboBox()
        self.target_combo.setMinimumWidth(260)
        self.target_combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.target_combo.setMaxVisibleItems(24)
        self.target_combo.setToolTip("What the map explains: the predicted class, another top-k class, "
                                     "any catalogue class or 7-point criterion")
        self.target_combo.currentIndexChanged.connect(self._on_target_combo)
        tb.addWidget(self.target_combo)
        self.free_text = QLineEdit()
        self.free_text.setPlaceholderText("or type a finding, Enter")
        self.free_text.setMaximumWidth(200)
        self.free_text.setToolTip("Explain any text: a class name, a 7-point finding, or your own words")
        self.free_text.returnPressed.connect(lambda: self.set_free_text_target(self.free_text.text()))
        tb.addWidget(self.free_text)
        tb.addSeparator()
        self.overlay_action = QAction("Overlay (O)", self, checkable=True, shortcut=QKeySequence("O"))
        self.overlay_action.setChecked(self.settings.overlay_visible)
        self.overlay_action.toggled.connect(self.set_overlay_visible)
        tb.addAction(self.overlay_action)
        tb.addWidget(QLabel(" Opacity "))
        self.opacity_slider = QSlider(Qt.Orientation.Horizontal)
        self.opacity_slider.setRange(0, 100)
        self.opacity_slider.setFixedWidth(110)
        self.opacity_slider.setValue(self.settings.opacity)
        self.opacity_slider.setToolTip("Overlay opacity ([ and ])")
        self.opacity_slider.valueChanged.connect(self._on_opacity)
        tb.addWidget(self.opacity_slider)
        self.colormap_combo = QComboBox()
        for name in COLORMAPS:
            self.colormap_combo.addItem(name, name)
        self.colormap_combo.setToolTip("Colormap (inferno and viridis are perceptually uniform)")
        self.colormap_combo.setCurrentIndex(list(COLORMAPS).index(self.colormap))
        self.colormap_combo.currentIndexChanged.connect(
            lambda i: self.set_colormap(self.colormap_combo.itemData(i)))
        tb.addWidget(self.colormap_combo)
        self.contour_check = QCheckBox("Contour ≥ p")
        self.contour_spin = QSpinBox()
        self.contour_spin.setRange(50, 99)
        self.contour_spin.setValue(90)
        self.contour_spin.setSuffix("th")
        self.contour_check.setToolTip("Outline the region above this percentile of the map")
        self.contour_check.toggled.connect(self._apply_contour)
        self.contour_spin.valueChanged.connect(self._apply_contour)
        tb.addWidget(self.contour_check)
        tb.addWidget(self.contour_spin)
        tb.addSeparator()
        self.fit_action = QAction("Fit", self, shortcut=QKeySequence("F"))
        self.fit_action.triggered.connect(self.fit_views)
        tb.addAction(self.fit_action)
        self.compare_action = QAction("Compare methods", self, checkable=True, shortcut=QKeySequence("C"))
        self.compare_action.setToolTip("The three methods side by side, zoom and pan in sync (C)")
        self.compare_action.toggled.connect(self.set_compare)
        tb.addAction(self.compare_action)

        view_menu = menu.addMenu("&View")
        for a in (self.overlay_action, self.fit_action, self.compare_action):
            view_menu.addAction(a)
        help_menu = menu.addMenu("&Help")
        help_menu.addAction("&Keyboard shortcuts", self.show_shortcuts)
        help_menu.addAction("&About MedGrad Desktop", self.show_about)

        def shortcut(keys: str | QKeySequence, fn) -> QShortcut:
            s = QShortcut(QKeySequence(keys), self)
            s.activated.connect(fn)
            return s

        self._shortcuts = [
            shortcut(Qt.Key.Key_Right, self.next_image),
            shortcut(Qt.Key.Key_Left, self.previous_image),
            shortcut("[", lambda: self.opacity_slider.setValue(self.opacity_slider.value() - 10)),
            shortcut("]", lambda: self.opacity_slider.setValue(self.opacity_slider.value() + 10)),
            shortcut("+", self.zoom_in), shortcut("=", self.zoom_in), shortcut("-", self.zoom_out),
        ]
        for i, m in enumerate(METHODS):
            self._shortcuts.append(shortcut(str(i + 1), lambda m=m: self.set_method(m)))
        self._rebuild_target_combo()

    def _restore_settings(self) -> None:
        if self.settings.geometry is not None:
            self.restoreGeometry(self.settings.geometry)
        else:
            self.resize(1520, 920)
        if self.settings.splitter_state is not None:
            self.splitter.restoreState(self.settings.splitter_state)
        self.viewer.set_opacity(self.opacity)
        for v in self.compare_viewers.values():
            v.set_opacity(self.opacity)
        self.set_colormap(self.colormap)

    # ------------------------------------------------------------------ model
    def reload_model(self) -> JobHandle:
        """Load the model of the settings (weights, device) in the worker; keep the current one on failure."""
        weights, device = self.settings.weights, self.settings.device
        self.model_label.setText("Loading model…")
        self.statusBar().showMessage("Loading model in the background…")
        factory = self.model_factory
        handle = self.worker.load(lambda: factory(weights, device))
        handle.error.connect(self._on_model_error)
        self._load_job = handle
        return handle

    def _on_model_changed(self, clip: ClipModel) -> None:
        self._model = clip
        self.model_error = ""
        card = clip.card
        self.model_label.setText(f"{card.display_name()} · {card.short_hash} · {clip.device}")
        self.model_label.setToolTip(f"weights SHA-256 {card.weights_sha256}\n{card.weights_path or ''}")
        warns = card.warnings()
        note = card.extra.get("notes", "")
        self.warning_status.setText(" · ".join(w.split(":")[0] for w in warns))
        self.warning_status.setToolTip("\n".join(warns))
        self.panel.set_model(card, str(clip.device), error=note if note == DEMO_MISSING_NOTE else "")
        cat = clip.catalogue
        self.panel.set_classes([(c.id, c.display_name) for c in cat.classes])
        current_filter = self.class_filter.currentData()
        self.class_filter.blockSignals(True)
        self.class_filter.clear()
        self.class_filter.addItem("All classes", "")
        for c in cat.classes:
            self.class_filter.addItem(c.display_name, c.id)
        i = self.class_filter.findData(current_filter)
        self.class_filter.setCurrentIndex(max(0, i))
        self.class_filter.blockSignals(False)
        self._rebuild_target_combo()
        self.statusBar().showMessage(f"Model ready: {card.display_name()}", 5000)
        # predictions of another model are stale: recompute them
        stale = [e for e in self.entries if e.prediction is not None and
                 e.prediction.model_sha256 != card.weights_sha256]
        for e in stale:
            e.prediction = None
        batch_running = self._batch is not None and not self._batch.is_finished
        if stale and batch_running:
            self._batch.cancel()
        if self.entries and (stale or (not batch_running and any(not e.done for e in self.entries))):
            self.thumb_model.refresh_all()
            self.start_predictions()
        self._refresh_current()
        self.model_ready.emit()

    def _on_model_error(self, message: str) -> None:
        self.model_error = message
        line = f"Model not loaded: {message}"
        self.statusBar().showMessage(line, 15000)
        if self.model is None:
            self.model_label.setText("No model")
            self.panel.set_model(None, error=line)
        else:
            card = self.model.card
            self.model_label.setText(f"{card.display_name()} · {card.short_hash} · {self.model.device}")
            self.panel.set_model(card, str(self.model.device), error=f"{line} (kept the previous model)")
        box = QMessageBox(QMessageBox.Icon.Warning, "Model not loaded", line, QMessageBox.StandardButton.Ok, self)
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.open()  # non-blocking

    def open_preferences(self) -> None:
        dlg = PreferencesDialog(self.settings.weights, self.settings.device, self)
        if dlg.exec():
            self.apply_preferences(dlg.weights, dlg.device)

    def apply_preferences(self, weights: str, device: str) -> JobHandle:
        self.settings.weights, self.settings.device = weights, device
        return self.reload_model()

    # ------------------------------------------------------------------ folders
    def open_folder_dialog(self) -> None:
        start = self.settings.last_folder or str(Path.home())
        folder = QFileDialog.getExistingDirectory(self, "Open a folder of images", start)
        if folder:
            self.open_folder(folder)

    def _fill_recent_menu(self) -> None:
        self.recent_menu.clear()
        recent = self.settings.recent_folders
        for f in recent:
            a = self.recent_menu.addAction(f)
            a.triggered.connect(lambda _=False, f=f: self.open_folder(f))
        self.recent_menu.setEnabled(bool(recent))

    def _on_recursive_toggled(self, on: bool) -> None:
        self.settings.recursive = on
        if self.current_folder is not None:
            self.open_folder(self.current_folder)

    def open_folder(self, folder: str | Path) -> bool:
        folder = Path(folder).expanduser()
        if not folder.is_dir():
            self.statusBar().showMessage(f"{folder}: not a folder; choose a folder of images", 10000)
            return False
        self.cancel_batch()
        if self._map_job is not None:
            self._map_job.cancel()
        paths = list_images(folder, recursive=self.recursive_action.isChecked())
        self.current_folder = folder.resolve()
        self.entries = [ImageEntry(p) for p in paths]
        self.review_store = ReviewStore(self.current_folder)
        self.undo_stack.clear()
        self._current_row = None
        self.thumb_model.set_entries(self.entries)
        self.settings.last_folder = str(self.current_folder)
        self.settings.add_recent_folder(str(self.current_folder))
        self.setWindowTitle(f"MedGrad Desktop — {self.current_folder.name}")
        self.empty_hint.setVisible(not self.entries)
        if not self.entries:
            self.empty_hint.setText(f"No images in {folder}. Supported: JPEG, PNG, TIFF, BMP, WebP, GIF.")
        log_event("folder_opened", model_sha256=self.model.card.weights_sha256 if self.model else None,
                  folder=str(self.current_folder), images=len(self.entries),
                  recursive=self.recursive_action.isChecked())
        self._set_image(None, None)
        self.statusBar().showMessage(f"Opened {folder} ({len(self.entries)} images)", 5000)
        self.start_predictions()
        if self.entries:
            self.select_row(0)
        self.folder_opened.emit(str(self.current_folder))
        return True

    def dragEnterEvent(self, event) -> None:  # noqa: N802 - Qt API
        if event.mimeData().hasUrls() and any(u.isLocalFile() for u in event.mimeData().urls()):
            event.acceptProposedAction()

    def dropEvent(self, event) -> None:  # noqa: N802 - Qt API
        for url in event.mimeData().urls():
            if url.isLocalFile():
                p = Path(url.toLocalFile())
                self.open_folder(p if p.is_dir() else p.parent)
                event.acceptProposedAction()
                return

    # ------------------------------------------------------------------ predictions (batch job)
    def start_predictions(self) -> JobHandle | None:
        b = self._batch
        if b is not None and not b.is_finished and not b.is_cancel_requested and self._batch_entries is self.entries:
            return b  # this folder's batch is already running
        todo = [(i, e.path) for i, e in enumerate(self.entries) if not e.done]
        if not todo:
            return None
        known = dict(self.pred_cache)
        handle = self.worker.submit(predict_batch(todo, known), kind="predict", total=len(todo))
        handle.item.connect(lambda item, ents=self.entries: self._on_predict_item(item, ents))
        handle.progress.connect(lambda d, t, eta, h=handle: h is self._batch and self._on_progress(d, t, eta))
        handle.error.connect(lambda msg: self.statusBar().showMessage(f"Predictions stopped: {msg}", 15000))
        handle.finished.connect(lambda h=handle: self._on_batch_finished(h))
        self._batch = handle
        self._batch_entries = self.entries
        self.progress.setRange(0, len(todo))
        self.progress.setValue(0)
        self.progress.setFormat(f"0 / {len(todo)} · ETA …")
        self.progress.setVisible(True)
        self.cancel_button.setVisible(True)
        return handle

    def cancel_batch(self) -> None:
        if self._batch is not None and not self._batch.is_finished:
            self._batch.cancel()

    def _on_progress(self, done: int, total: int, eta: float) -> None:
        """Repaint the bar at most ~8 times a second: a QProgressBar repaint is not free."""
        self._pending_progress = (done, total, eta)
        if done >= total or not self._progress_timer.isActive():
            self._show_progress()
            self._progress_timer.start()

    def _show_progress(self) -> None:
        if self._pending_progress is None:
            return
        done, total, eta = self._pending_progress
        self._pending_progress = None
        bar = self.progress
        bar.setUpdatesEnabled(False)  # setValue would repaint synchronously; let the event loop paint once
        bar.setRange(0, max(1, total))
        bar.setValue(done)
        bar.setFormat(f"{done} / {total} · {_eta_text(eta)}")
        bar.setUpdatesEnabled(True)

    def _on_predict_item(self, item: PredictItem, entries: list[ImageEntry]) -> None:
        if entries is not self.entries:
            return  # a late result for a folder that is no longer open
        if not 0 <= item.index < len(self.entries) or self.entries[item.index].path != item.path:
            return
        if self.model is not None and item.prediction is not None and \
                item.model_sha256 != self.model.card.weights_sha256:
            return  # the last image of a batch run by a model that has since been replaced
        e = self.entries[item.index]
        e.sha256, e.thumbnail, e.size, e.error = item.sha256, item.thumbnail, item.size, item.error
        if item.prediction is not None:
            e.prediction = item.prediction
            self.pred_cache[(item.sha256, item.model_sha256)] = item.prediction
            log_event("prediction", model_sha256=item.model_sha256, file_sha256=item.sha256,
                      file_name=e.name, predicted=item.prediction.predicted_id,
                      confidence=round(item.prediction.confidence, 4))
        if item.note:
            self.statusBar().showMessage(item.note, 10000)
        self.thumb_model.entry_changed(item.index)
        if item.index == self._current_row:
            self._refresh_current()

    def _on_batch_finished(self, handle: JobHandle) -> None:
        if handle is not self._batch:
            return
        self.progress.setVisible(False)
        self.cancel_button.setVisible(False)
        done = sum(1 for e in self.entries if e.prediction is not None)
        if handle.state == "cancelled":
            self.statusBar().showMessage(f"Cancelled: {done} of {len(self.entries)} images analysed "
                                         "(File > Analyse remaining images, Ctrl+R, continues)", 15000)
        elif handle.state == "done":
            errors = sum(1 for e in self.entries if e.error)
            msg = f"Analysed {done} images" + (f"; {errors} could not be read (see their tiles)" if errors else "")
            self.statusBar().showMessage(msg, 10000)
        log_event("predictions_run", model_sha256=self.model.card.weights_sha256 if self.model else None,
                  folder=str(self.current_folder), images=handle.done, state=handle.state,
                  errors=sum(1 for e in self.entries if e.error))
        self.proxy.invalidate()
        self.predictions_finished.emit()

    # ------------------------------------------------------------------ navigation
    def _on_current_changed(self, current, _previous) -> None:
        if not current.isValid():
            return
        row = self.proxy.mapToSource(current).row()
        if row != self._current_row:
            self._current_row = row
            self._refresh_current()

    def select_row(self, source_row: int) -> None:
        idx = self.proxy.mapFromSource(self.thumb_model.index(source_row))
        if idx.isValid():
            self.grid.selectionModel().setCurrentIndex(
                idx, QItemSelectionModel.SelectionFlag.ClearAndSelect)
            self.grid.scrollTo(idx)
        else:
            self._current_row = source_row
            self._refresh_current()

    def _step(self, delta: int) -> None:
        n = self.proxy.rowCount()
        if n == 0:
            return
        cur = self.grid.currentIndex()
        r = cur.row() + delta if cur.isValid() else 0
        r = max(0, min(n - 1, r))
        self.grid.selectionModel().setCurrentIndex(self.proxy.index(r, 0),
                                                   QItemSelectionModel.SelectionFlag.ClearAndSelect)
        self.grid.scrollTo(self.proxy.index(r, 0))

    def next_image(self) -> None:
        self._step(1)

    def previous_image(self) -> None:
        self._step(-1)

    def _apply_sort(self) -> None:
        key = self.sort_combo.currentData()
        self.proxy.set_sort(key.removesuffix("-desc"), key.endswith("-desc"))

    def _apply_filter(self) -> None:
        self.proxy.set_filters(self.class_filter.currentData() or "", self.review_filter.currentData() or "",
                               self.low_only.isChecked())

    # ------------------------------------------------------------------ showing the current image
    def _refresh_current(self) -> None:
        e = self.current_entry
        if e is None:
            return
        self.panel.set_entry(e.name, str(e.path), e.prediction, e.error)
        self._update_review_panel()
        self._update_rank_labels(e)
        if e.error:
            self._set_image(None, None)
            self.map_caption.setText(e.error)
            return
        cached = self.rgb_cache.get(e.path)
        if cached is not None:
            self._set_image(e.path, cached[2])
        else:
            self._set_image(None, None)  # never leave the previous image under this image's panel
            self.map_caption.setText(f"{e.name} · loading…")
            self._request_image(e)
        self.request_maps()

    def _set_image(self, path: Path | None, pixmap: QPixmap | None) -> None:
        """Show the image at `path` in every viewer (one shared pixmap); maps are drawn only over their
        own image."""
        if path is not None and path == self._shown_path:
            return
        self._shown_path = path
        for v in (self.viewer, *self.compare_viewers.values()):
            v.set_pixmap(pixmap)

    def _request_image(self, e: ImageEntry) -> None:
        """Decode the image in the worker (never here), ahead of its maps."""
        if self._image_job is not None:
            self._image_job.cancel()
        path = e.path

        def run(ctx):
            li = load_image(path)
            return (path, li.sha256, li.rgb, display_qimage(li.rgb))

        h = self.worker.submit(run, kind="image", priority=ModelWorker.PRIORITY_INTERACTIVE + 1)
        h.result.connect(self._on_image_loaded)
        self._image_job = h

    def _on_image_loaded(self, res) -> None:
        path, sha, rgb, display = res
        pixmap = QPixmap.fromImage(display)
        self.rgb_cache.put(path, (sha, rgb, pixmap))
        e = self.current_entry
        if e is not None and e.path == path:
            e.sha256 = e.sha256 or sha
            self._set_image(path, pixmap)
            self._show_cached_maps()

    def _methods_needed(self) -> list[str]:
        return list(METHODS) if self.compare_action.isChecked() else [self.current_method]

    def _current_target(self, e: ImageEntry) -> Target | None:
        if self.model is None:
            return None
        try:
            return self.target_choice.resolve(self.model.catalogue, e.prediction)
        except (KeyError, ValueError):
            return None

    def current_target(self) -> Target | None:
        e = self.current_entry
        return self._current_target(e) if e is not None else None

    def _show_cached_maps(self) -> bool:
        """Show every needed map that is cached; True when nothing is missing."""
        e = self.current_entry
        if e is None or self.model is None or not e.sha256:
            return False
        target = self._current_target(e)
        if target is None:
            return False
        complete = True
        image_shown = self._shown_path == e.path
        for m in self._methods_needed():
            hm = self.cached_map(e, m, target)
            if hm is None:
                complete = False
            if image_shown:  # a map is only ever drawn over the image it was computed from
                self._display_map(m, hm, target)
        return complete

    def request_maps(self) -> None:
        e = self.current_entry
        if e is None or e.error or self.model is None:
            return
        if e.prediction is None and self.target_choice.depends_on_prediction():
            self._clear_maps("waiting for this image's prediction…")
            return
        if self._show_cached_maps():
            return
        methods = self._methods_needed()
        cached = self.rgb_cache.get(e.path)
        key = (e.path, tuple(self.params[m] for m in methods), self.target_choice, self.model.card.weights_sha256)
        if self._map_job is not None and not self._map_job.is_finished and self._map_job_key == key:
            return
        if self._map_job is not None:
            self._map_job.cancel()
        req = MapRequest(e.path, self.target_choice, [self.params[m] for m in methods],
                         rgb=cached[1] if cached else None, sha256=cached[0] if cached else None,
                         prediction=e.prediction)
        h = self.worker.submit(compute_maps(req), kind="maps", priority=ModelWorker.PRIORITY_INTERACTIVE)
        h.result.connect(self._on_maps)
        h.error.connect(lambda msg, h=h: h is self._map_job and self._clear_maps(f"Map failed: {msg}"))
        self._map_job, self._map_job_key = h, key
        for m in methods:
            if self.cached_map(e, m, self._current_target(e) or Target.free_text("x")) is None:
                self._caption(m, f"{METHOD_NAMES[m]} · computing…")

    def _on_maps(self, res: MapResult) -> None:
        for m, hm in res.maps.items():  # keyed by the params that made the map, even if changed since
            self.map_cache.put(map_key(res.sha256, res.model_sha256, res.params[m], res.target.key), hm)
        cached = self.rgb_cache.get(res.path)
        if res.display is not None or cached is None:
            pixmap = QPixmap.fromImage(res.display if res.display is not None else display_qimage(res.rgb))
        else:
            pixmap = cached[2]
        self.rgb_cache.put(res.path, (res.sha256, res.rgb, pixmap))
        if res.note:
            self.statusBar().showMessage(res.note, 10000)
        for i, e in enumerate(self.entries):
            if e.path == res.path:
                e.sha256 = e.sha256 or res.sha256
                if e.prediction is None and res.prediction is not None:
                    e.prediction = res.prediction
                    self.thumb_model.entry_changed(i)
        e = self.current_entry
        if e is not None and e.path == res.path:
            self._set_image(res.path, pixmap)
            self._show_cached_maps()

    def _caption(self, method: str, text: str, short: str | None = None) -> None:
        if method == self.current_method:
            self.map_caption.setText(text)
            self.map_caption.setToolTip(text)
        self.compare_captions[method].setText(short or text)
        self.compare_captions[method].setToolTip(text)

    def _clear_maps(self, caption: str) -> None:
        self.viewer.clear_map()
        for v in self.compare_viewers.values():
            v.clear_map()
        self.map_caption.setText(caption)

    def _display_map(self, method: str, hm: Heatmap | None, target: Target) -> None:
        viewers = []
        if method == self.current_method and not self.compare_action.isChecked():
            viewers.append(self.viewer)
        if self.compare_action.isChecked():
            viewers.append(self.compare_viewers[method])
        for v in viewers:
            if hm is None or v.image_size is None:
                v.clear_map()
            else:
                v.set_map(overlay_map(hm, *v.image_size))
        if hm is None:
            self._caption(method, f"{METHOD_NAMES[method]} · {target.label} · computing…")
        else:
            self._caption(method, f"{METHOD_NAMES[method]} · explaining: {target.label} · score S = {hm.score:.3f}"
                          f"{self._custom_tag(method)}",
                          f"{METHOD_NAMES[method]} · {target.label} · S = {hm.score:.3f}")
            if viewers and viewers[0].image_size is not None:
                self.map_shown.emit(method)

    # ------------------------------------------------------------------ method, target, overlay
    def set_method(self, method: str) -> None:
        if method not in METHODS:
            return
        if self.method_combo.currentData() != method:
            self.method_combo.setCurrentIndex(METHODS.index(method))
            return  # the combo's signal calls back
        self.current_method = method
        self.settings.method = method
        self.request_maps()

    def set_params(self, method: str, params: MethodParams) -> None:
        """Use `params` for `method` from now on, in this session and the next ones."""
        self.params[method] = params
        self.settings.set_method_params(params)
        self.request_maps()

    def open_params_dialog(self) -> None:
        from medgrad_desktop.ui.params_dialog import ParamsDialog

        dlg = ParamsDialog(self.current_params, self)
        if dlg.exec():
            self.set_params(self.current_method, dlg.params())

    def _custom_tag(self, method: str) -> str:
        return " · custom parameters" if self.params[method] != default_params(method) else ""

    def _rebuild_target_combo(self) -> None:
        combo = self.target_combo
        keep = self.target_choice.spec
        combo.blockSignals(True)
        combo.clear()
        combo.addItem("Predicted class", "predicted")
        for r in (2, 3, 4, 5):
            combo.addItem(f"Top-{r} class", f"rank:{r}")
        if self.model is not None:
            combo.insertSeparator(combo.count())
            for c in self.model.catalogue.classes:
                combo.addItem(f"Class: {c.display_name}", f"class:{c.id}")
            combo.insertSeparator(combo.count())
            for crit in self.model.catalogue.criteria:
                for o in crit.options:
                    combo.addItem(f"{crit.display_name}: {o.phrase}", f"criterion:{crit.id}:{o.id}")
        if self.target_choice.kind == "text":
            combo.insertSeparator(combo.count())
            combo.addItem(f'Text: "{self.target_choice.value}"', keep)
        i = combo.findData(keep)
        combo.setCurrentIndex(max(0, i))
        combo.blockSignals(False)
        e = self.current_entry
        if e is not None:
            self._update_rank_labels(e)

    def _update_rank_labels(self, e: ImageEntry) -> None:
        p = e.prediction
        for r in (1, 2, 3, 4, 5):
            i = self.target_combo.findData("predicted" if r == 1 else f"rank:{r}")
            if i < 0:
                continue
            base = "Predicted class" if r == 1 else f"Top-{r} class"
            if p is not None and r <= len(p.class_ids):
                cid, name, prob = p.top_k(r)[-1]
                self.target_combo.setItemText(i, f"{base}: {name} ({format_probability(prob)})")
            else:
                self.target_combo.setItemText(i, base)

    def _on_target_combo(self, i: int) -> None:
        spec = self.target_combo.itemData(i)
        if spec:
            self.set_target(TargetChoice.from_spec(spec))

    def set_target(self, choice: TargetChoice) -> None:
        self.target_choice = choice
        i = self.target_combo.findData(choice.spec)
        if i >= 0 and self.target_combo.currentIndex() != i:
            self.target_combo.blockSignals(True)
            self.target_combo.setCurrentIndex(i)
            self.target_combo.blockSignals(False)
        self.request_maps()

    def set_free_text_target(self, text: str) -> None:
        text = text.strip()
        if not text:
            return
        if self.model is not None:
            resolved = self.model.catalogue.resolve(text)
            if resolved.kind == "class":
                choice = TargetChoice("class", resolved.key)
            elif resolved.kind == "criterion":
                choice = TargetChoice("criterion", resolved.key)
            else:
                choice = TargetChoice("text", text)
        else:
            choice = TargetChoice("text", text)
        self.target_choice = choice
        self._rebuild_target_combo()
        self.set_target(choice)

    def set_overlay_visible(self, visible: bool) -> None:
        if self.overlay_action.isChecked() != visible:
            self.overlay_action.setChecked(visible)
            return
        self.settings.overlay_visible = visible
        self.viewer.set_overlay_visible(visible)
        for v in self.compare_viewers.values():
            v.set_overlay_visible(visible)

    def toggle_overlay(self) -> None:
        self.overlay_action.toggle()

    def _on_opacity(self, value: int) -> None:
        self.settings.opacity = value
        self.viewer.set_opacity(value / 100.0)
        for v in self.compare_viewers.values():
            v.set_opacity(value / 100.0)

    def set_colormap(self, name: str) -> None:
        if name not in COLORMAPS:
            return
        self.colormap = name
        self.settings.colormap = name
        i = self.colormap_combo.findData(name)
        if i >= 0 and self.colormap_combo.currentIndex() != i:
            self.colormap_combo.setCurrentIndex(i)
        for v in (self.viewer, *self.compare_viewers.values()):
            v.set_colormap(name)
        self.colorbar.set_colormap(name)
        self.compare_colorbar.set_colormap(name)

    def _apply_contour(self) -> None:
        p = float(self.contour_spin.value()) if self.contour_check.isChecked() else None
        for v in (self.viewer, *self.compare_viewers.values()):
            v.set_contour(p)

    def set_compare(self, on: bool) -> None:
        self.view_stack.setCurrentIndex(1 if on else 0)
        if on:  # the compare viewers already hold the current image (see _set_image)
            for v in self.compare_viewers.values():
                v.fit()
        self.request_maps()

    def _active_viewers(self) -> list[ImageViewer]:
        return list(self.compare_viewers.values())[:1] if self.compare_action.isChecked() else [self.viewer]

    def zoom_in(self) -> None:
        for v in self._active_viewers():
            v.zoom_in()

    def zoom_out(self) -> None:
        for v in self._active_viewers():
            v.zoom_out()

    def fit_views(self) -> None:
        for v in (self.viewer, *self.compare_viewers.values()):
            v.fit()

    # ------------------------------------------------------------------ review
    def _review_of(self, sha: str) -> ReviewRecord | None:
        return self.review_store.get(sha) if self.review_store is not None and sha else None

    def _class_names(self) -> dict[str, str]:
        return {c.id: c.display_name for c in self.model.catalogue.classes} if self.model else {}

    def _update_review_panel(self) -> None:
        e = self.current_entry
        self.panel.set_review(self._review_of(e.sha256) if e and e.sha256 else None, self._class_names())

    def _review_changed(self, sha: str, how: str) -> None:
        for i, e in enumerate(self.entries):
            if e.sha256 == sha:
                self.thumb_model.entry_changed(i)
        self.proxy.invalidate()
        e = self.current_entry
        if e is not None and e.sha256 == sha:
            self._update_review_panel()

    def _push_review(self, decision: str, final_class: str | None, note: str | None, text: str,
                     event: str) -> bool:
        e = self.current_entry
        if e is None or e.prediction is None or not e.sha256 or self.review_store is None:
            self.statusBar().showMessage("Select an analysed image first", 5000)
            return False
        old = self.review_store.get(e.sha256)
        rec = ReviewRecord(image_sha256=e.sha256, file_name=e.name, decision=decision,
                           final_class=final_class, predicted_class=e.prediction.predicted_id,
                           note=note if note is not None else (old.note if old else ""))
        self.undo_stack.push(ReviewCommand(self.review_store, e.sha256, rec, text, self._on_review_command))
        log_event(event, model_sha256=e.prediction.model_sha256, file_sha256=e.sha256, file_name=e.name,
                  predicted=e.prediction.predicted_id, final=final_class, decision=decision,
                  note=rec.note)
        return True

    def _on_review_command(self, sha: str, how: str) -> None:
        self._review_changed(sha, how)

    def accept_prediction(self) -> bool:
        e = self.current_entry
        if e is None or e.prediction is None:
            return False
        return self._push_review("accepted", e.prediction.predicted_id, None,
                                 f"accept {e.name}", "review_accept")

    def override_prediction(self, class_id: str) -> bool:
        if not class_id:
            return False
        e = self.current_entry
        if e is not None and e.prediction is not None and class_id == e.prediction.predicted_id:
            return self.accept_prediction()
        return self._push_review("overridden", class_id, None, f"override {e.name if e else ''} → {class_id}",
                                 "review_override")

    def set_note(self, note: str) -> bool:
        e = self.current_entry
        if e is None or e.prediction is None or not e.sha256:
            return False
        old = self._review_of(e.sha256)
        if old is not None and old.note == note:
            return False
        decision = old.decision if old else "pending"
        final = old.final_class if old else None
        return self._push_review(decision, final, note, f"note on {e.name}", "review_note")

    def reset_review(self) -> bool:
        return self._push_review("pending", None, None, "reset review", "review_reset")

    def undo(self) -> None:
        if self.undo_stack.canUndo():
            log_event("review_undo", action=self.undo_stack.undoText())
            self.undo_stack.undo()

    def redo(self) -> None:
        if self.undo_stack.canRedo():
            log_event("review_redo", action=self.undo_stack.redoText())
            self.undo_stack.redo()

    # ------------------------------------------------------------------ help
    SHORTCUTS = (
        ("← / →", "previous / next image"), ("O", "overlay on / off"), ("[ / ]", "overlay opacity − / +"),
        ("1 / 2 / 3", "Grad-CAM / Grad-ECLIP / MedGrad E-CLIP"), ("C", "compare the three methods"),
        ("+ / − / wheel", "zoom"), ("F", "fit the image"), ("drag", "pan"), ("Ctrl+O", "open a folder"),
        ("Ctrl+E", "export a report"), ("Ctrl+Z / Ctrl+Shift+Z", "undo / redo a review action"),
        ("Ctrl+,", "preferences (weights file, device)"),
    )

    def show_shortcuts(self) -> None:
        rows = "".join(f"<tr><td><b>{k}</b></td><td style='padding-left:12px'>{v}</td></tr>"
                       for k, v in self.SHORTCUTS)
        box = QMessageBox(QMessageBox.Icon.NoIcon, "Keyboard shortcuts", f"<table>{rows}</table>",
                          QMessageBox.StandardButton.Ok, self)
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.open()

    def show_about(self) -> None:
        from medgrad_desktop import __version__

        card = self.model.card if self.model else None
        model = f"{card.display_name()} (SHA-256 {card.weights_sha256})" if card else "no model loaded"
        box = QMessageBox(QMessageBox.Icon.Information, "About MedGrad Desktop",
                          f"<b>MedGrad Desktop {__version__}</b><br>Explainable CLIP skin-lesion review: "
                          f"Grad-CAM, Grad-ECLIP and MedGrad E-CLIP maps.<br><br><b>{RESEARCH_NOTICE}</b><br><br>"
                          f"Model: {model}", QMessageBox.StandardButton.Ok, self)
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.open()

    # ------------------------------------------------------------------ export
    def run_export(self) -> None:
        if importlib.util.find_spec(EXPORT_MODULE) is None:
            self.statusBar().showMessage("report export not installed", 5000)
            return
        module = importlib.import_module(EXPORT_MODULE)
        module.run_export_dialog(self)

    # ------------------------------------------------------------------ closing
    def closeEvent(self, event) -> None:  # noqa: N802 - Qt API
        self.settings.geometry = self.saveGeometry()
        self.settings.splitter_state = self.splitter.saveState()
        self.settings.sync()
        if not self.worker.stop(10_000):
            # a model load cannot be interrupted; destroying a running QThread would crash, so wait
            self.statusBar().showMessage("Waiting for the model to finish loading before closing…")
            self.worker.wait()
        super().closeEvent(event)

    def shutdown(self) -> None:
        """Stop the worker without closing (tests that never showed the window)."""
        self.worker.stop()


def wait_until(predicate: Callable[[], bool], timeout_s: float, app=None) -> bool:
    """Process events until `predicate()` holds or time runs out (self-test, screenshot, benchmark)."""
    import time

    from PySide6.QtWidgets import QApplication

    app = app or QApplication.instance()
    end = time.monotonic() + timeout_s
    while time.monotonic() < end:
        app.processEvents()
        if predicate():
            return True
        QTimer.singleShot(0, lambda: None)
        time.sleep(0.005)
    app.processEvents()
    return predicate()
