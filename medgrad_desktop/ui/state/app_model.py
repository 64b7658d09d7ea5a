"""The app's state and the actions a user takes on it, without a single widget.

`AppModel` owns the opened folder and its images (`FolderImage`), the folder's review store with
undo and redo, the method parameters, the chosen method, target, colormap and opacity, the model in
use and the caches of predictions and maps. It announces every change with a signal (the way napari's
model objects emit events), so the window, a dialog, an exporter or a test all see one state. The
browser, target picker, patient tree and toolbar subscribe to those signals themselves; the prediction
panel, the status bar and the viewer area know no `AppModel`: `main_window.py` and `map_controller.py`
listen to it and push them the data they show (docs/ARCHITECTURE.md, "How each view is fed").

What an exporter reads: `current_folder`, `entries` (folder order), `current_entry`,
`selected_entries()` (grid order), `current_method`, `params` (all three methods), `target_choice`
(`.resolve(catalogue, prediction)` gives one image's `Target`), `colormap`, `opacity`, `model` (read its
card and catalogue; never run it on the UI thread: submit a job to the `ModelWorker`),
`review_store`, `cached_map(entry, method, target)` and `map_times` (this session's measured seconds
per map).

Slow work never runs here: the model loads in the worker, predictions run as the batch job of
`PredictionsController`, and the shown image's maps are requested by `MapController`.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QUndoStack

from medgrad_desktop.audit import log_event
from medgrad_desktop.core.heatmap import Heatmap
from medgrad_desktop.core.imageio import list_images
from medgrad_desktop.core.method_params import METHODS, OPENING_METHOD, MethodParams
from medgrad_desktop.core.prediction import Prediction
from medgrad_desktop.core.prompts import Target
from medgrad_desktop.core.render import COLORMAPS, DEFAULT_OVERLAY_ALPHA, OVERLAY_ALPHAS
from medgrad_desktop.core.text_match import unknown_words
from medgrad_desktop.core.typed_text import resolve_typed
from medgrad_desktop.review import ReviewRecord, ReviewStore
from medgrad_desktop.ui.state.cache import LRUCache, map_key
from medgrad_desktop.ui.state.folder_image import FolderImage
from medgrad_desktop.ui.state.project_bridge import ProjectBridge
from medgrad_desktop.ui.state.review_commands import ReviewCommand
from medgrad_desktop.ui.state.settings import AppSettings
from medgrad_desktop.ui.state.target_choice import TargetChoice, describe_match
from medgrad_desktop.ui.work.jobs import MapResult, PredictItem
from medgrad_desktop.ui.work.prediction_batch import PredictionsController
from medgrad_desktop.ui.work.timing import MeasuredTimes
from medgrad_desktop.ui.work.worker import JobHandle, ModelWorker

if TYPE_CHECKING:  # the window imports no torch: the model arrives from the worker
    from medgrad_desktop.core.model import ClipModel

ModelFactory = Callable[[str, str], "ClipModel"]  # (weights or "" for the demo, device) -> model


class AppModel(QObject):
    folder_opened = Signal(str)  # a folder was opened: `entries` is a new list
    entry_changed = Signal(int)  # one image's hash, thumbnail, prediction or error arrived
    entries_refreshed = Signal()  # many images changed at once (a new model's predictions are due)
    current_changed = Signal()  # another current image, or news about the current one
    selection_changed = Signal()
    review_changed = Signal(str)  # the image hash whose review record changed
    review_decided = Signal()  # the current image was accepted or overridden (a view may move on)
    low_confidence_changed = Signal(float)
    fallback = Signal(str)  # the chosen weights failed at startup; the demo model is loading instead
    model_loading = Signal()
    model_changed = Signal(object)  # the ClipModel now in use
    model_failed = Signal(str)  # one-line reason; the previous model, if any, stays
    method_changed = Signal(str)
    params_changed = Signal(str)  # method
    target_changed = Signal()
    colormap_changed = Signal(str)
    opacity_changed = Signal(float)
    overlay_alpha_changed = Signal(str)
    pin_changed = Signal(bool)  # whether a typed target stays when the image changes
    predictions_finished = Signal()
    message = Signal(str, int)  # a status line and how long to show it (ms)

    def __init__(
        self,
        settings: AppSettings,
        worker: ModelWorker,
        model_factory: ModelFactory | None = None,
        parent: QObject | None = None,
    ):
        super().__init__(parent)
        self.settings = settings
        self.worker = worker
        self.model_factory = model_factory  # None: the worker's `compute.default_model_factory`
        self.current_folder: Path | None = None
        self.entries: list[FolderImage] = []
        self.review_store: ReviewStore | None = None
        self.params: dict[str, MethodParams] = {m: settings.method_params(m) for m in METHODS}
        self.current_method = settings.method if settings.method in METHODS else OPENING_METHOD
        self.target_choice = TargetChoice("predicted")
        self.colormap = settings.colormap if settings.colormap in COLORMAPS else "inferno"
        self.opacity = settings.opacity / 100.0
        self.overlay_alpha = (
            settings.overlay_alpha if settings.overlay_alpha in OVERLAY_ALPHAS else DEFAULT_OVERLAY_ALPHA
        )
        self.recursive = settings.recursive
        self.map_cache = LRUCache(4000)
        self.map_times = MeasuredTimes()  # this session's seconds per map, for the export's estimate
        self.pred_cache: dict[tuple[str, str], Prediction] = {}
        self.model_error = ""
        self.fallback_note = ""  # why the demo model is in use instead of the chosen weights
        self.text_match = ""  # what typed free text was matched to ("" when it stayed free text)
        # the target came from the free-text box: it is cleared when the image changes unless pinned
        self.typed_target = False
        self.pin_typed = False
        self.unknown_words: list[str] = []  # words of the typed free text the model was never trained on
        self._model: ClipModel | None = None
        self._previous_model_settings: tuple[str, str] | None = None
        self.current_row: int | None = None
        self.selected_rows: list[int] = []  # source rows in grid order
        self.undo_stack = QUndoStack(self)
        self.predictions = PredictionsController(worker, self)
        self.predictions.item.connect(self._on_predict_item)
        self.predictions.failed.connect(lambda msg: self.message.emit(f"Predictions stopped: {msg}", 15000))
        self.predictions.finished.connect(self._on_batch_finished)
        worker.model_changed.connect(self._on_model_changed)
        self.project = ProjectBridge(self)  # stored predictions and hashes, reviews with the reviewer's name

    # ------------------------------------------------------------------ reading
    @property
    def model(self) -> ClipModel | None:
        """The model the UI shows (set when the worker's `model_changed` reached the UI thread)."""
        return self._model

    @property
    def current_params(self) -> MethodParams:
        return self.params[self.current_method]

    @property
    def current_entry(self) -> FolderImage | None:
        return self.entries[self.current_row] if self.current_row is not None else None

    def no_entry_text(self) -> str:
        """What the views say while no image is current: an empty folder is told apart from no selection."""
        return "No images in this folder" if self.current_folder and not self.entries else "No image selected"

    def selected_entries(self) -> list[FolderImage]:
        return [self.entries[r] for r in self.selected_rows if 0 <= r < len(self.entries)]

    def target_for(self, entry: FolderImage) -> Target | None:
        """The target the chosen target means for `entry`; None until its prediction is known."""
        if self.model is None:
            return None
        try:
            return self.target_choice.resolve(self.model.catalogue, entry.prediction)
        except (KeyError, ValueError):
            return None

    def current_target(self) -> Target | None:
        e = self.current_entry
        return self.target_for(e) if e is not None else None

    def cached_map(self, entry: FolderImage, method: str, target: Target) -> Heatmap | None:
        if self.model is None or not entry.sha256:
            return None
        return self.map_cache.get(
            map_key(entry.sha256, self.model.card.weights_sha256, self.params[method], target.key)
        )

    def review_of(self, sha: str | None) -> ReviewRecord | None:
        return self.review_store.get(sha) if self.review_store is not None and sha else None

    def class_names(self) -> dict[str, str]:
        return {c.id: c.display_name for c in self.model.catalogue.classes} if self.model else {}

    # ------------------------------------------------------------------ model
    def reload_model(self) -> JobHandle:
        """Load the model of the settings (weights, device) in the worker; keep the current one on failure."""
        weights, device, factory = self.settings.weights, self.settings.device, self.model_factory
        self.model_loading.emit()
        self.message.emit("Loading model in the background…", 0)
        handle = self.worker.load_model(weights, device, factory)
        handle.error.connect(self._on_model_error)
        return handle

    def apply_preferences(self, weights: str, device: str) -> JobHandle:
        """Try other weights or another device; if they fail, the settings go back to what worked."""
        self._previous_model_settings = (self.settings.weights, self.settings.device)
        self.settings.weights, self.settings.device = weights, device
        return self.reload_model()

    @property
    def batch_cancelled(self) -> bool:
        """The last batch was cancelled: images without a result wait for Ctrl+R, nothing analyses them."""
        h = self.predictions.handle
        return h is not None and h.is_cancel_requested

    def _on_model_changed(self, clip: ClipModel) -> None:
        self._model = clip
        self.map_times = MeasuredTimes()  # another model or device: another speed
        self.model_error = ""
        self._previous_model_settings = None
        self.model_changed.emit(clip)
        self.message.emit(f"Model ready: {clip.card.display_name()}", 5000)
        # predictions of another model, or checked against other out-of-distribution statistics, are
        # stale: drop them and predict again
        stale = [
            e
            for e in self.entries
            if e.prediction is not None
            and (
                e.prediction.model_sha256 != clip.card.weights_sha256
                or not e.prediction.ood_matches(clip.card.ood_stats_sha256)
            )
        ]
        for e in stale:
            e.prediction = None
        batch_running = self.predictions.running
        if stale and batch_running:
            self.predictions.cancel()
        if self.entries and (stale or (not batch_running and any(not e.done for e in self.entries))):
            self.entries_refreshed.emit()
            self.start_predictions()
        self.current_changed.emit()

    def _on_model_error(self, message: str) -> None:
        bad = self.settings.weights
        if self._model is None and bad:
            # the chosen weights fail at startup: never start with no model, and never again with these
            self.settings.weights = ""
            self.fallback_note = (
                f"Could not load the chosen weights {bad} ({message}). Using the bundled "
                "demo model instead; choose other weights in File > Preferences."
            )
            log_event("model_fallback", weights=bad, reason=message)
            self.fallback.emit(self.fallback_note)
            self.reload_model()
            return
        if self._previous_model_settings is not None:
            self.settings.weights, self.settings.device = self._previous_model_settings
            self._previous_model_settings = None
        self.model_error = message
        self.model_failed.emit(message)
        self.message.emit(f"Model not loaded: {message}", 15000)

    # ------------------------------------------------------------------ folder and predictions
    def set_recursive(self, on: bool) -> None:
        """Include subfolders from now on; the open folder is listed again."""
        self.recursive = self.settings.recursive = on
        if self.current_folder is not None:
            self.open_folder(self.current_folder)

    def open_folder(self, folder: str | Path) -> bool:
        folder = Path(folder).expanduser()
        if not folder.is_dir():
            self.message.emit(f"{folder}: not a folder; choose a folder of images", 10000)
            return False
        self.cancel_batch()
        paths = list_images(folder, recursive=self.recursive)
        self.current_folder = folder.resolve()
        self.entries = [FolderImage(p) for p in paths]
        self.review_store = ReviewStore()
        self.undo_stack.clear()
        self.current_row, self.selected_rows = None, []
        self.settings.last_folder = str(self.current_folder)
        self.settings.add_recent_folder(str(self.current_folder))
        log_event(
            "folder_opened",
            model_sha256=self.model.card.weights_sha256 if self.model else None,
            folder=str(self.current_folder),
            images=len(self.entries),
            recursive=self.recursive,
        )
        self.folder_opened.emit(str(self.current_folder))
        self.message.emit(f"Opened {folder} ({len(self.entries)} images)", 5000)
        self.start_predictions()
        if self.entries:
            self.select(0)
        else:
            self.current_changed.emit()  # every panel says there is no image
        return True

    def start_predictions(self) -> JobHandle | None:
        return self.predictions.start(self.entries, self.pred_cache)

    def cancel_batch(self) -> None:
        self.predictions.cancel()

    def _on_predict_item(self, item: PredictItem, entries: list[FolderImage]) -> None:
        if entries is not self.entries:
            return  # a late result for a folder that is no longer open
        if not 0 <= item.index < len(self.entries) or self.entries[item.index].path != item.path:
            return
        if (
            self.model is not None
            and item.prediction is not None
            and item.model_sha256 != self.model.card.weights_sha256
        ):
            return  # the last image of a batch run by a model that has since been replaced
        e = self.entries[item.index]
        e.sha256, e.thumbnail, e.size, e.error = item.sha256, item.thumbnail, item.size, item.error
        if item.prediction is not None:
            e.prediction = item.prediction
            self.pred_cache[(item.sha256, item.model_sha256)] = item.prediction
            log_event(
                "prediction",
                model_sha256=item.model_sha256,
                file_sha256=item.sha256,
                file_name=e.name,
                predicted=item.prediction.predicted_id,
                confidence=round(item.prediction.confidence, 4),
            )
        if item.note:
            self.message.emit(item.note, 10000)
        self.entry_changed.emit(item.index)
        if item.index == self.current_row:
            self.current_changed.emit()

    def _on_batch_finished(self, handle: JobHandle) -> None:
        done = sum(1 for e in self.entries if e.prediction is not None)
        errors = sum(1 for e in self.entries if e.error)
        if handle.state == "cancelled":
            self.message.emit(
                f"Cancelled: {done} of {len(self.entries)} images analysed "
                "(File > Analyse remaining images, Ctrl+R, continues)",
                15000,
            )
        elif handle.state == "done":
            unlike = sum(1 for e in self.entries if e.prediction is not None and e.prediction.ood_flagged)
            msg = (
                f"Analysed {done} images"
                + (f"; {unlike} unlike the images the model was trained on" if unlike else "")
                + (f"; {errors} could not be read (see their tiles)" if errors else "")
            )
            self.message.emit(msg, 10000)
        log_event(
            "predictions_run",
            model_sha256=self.model.card.weights_sha256 if self.model else None,
            folder=str(self.current_folder),
            images=handle.done,
            state=handle.state,
            errors=errors,
        )
        self.predictions_finished.emit()

    def file_maps(self, res: MapResult) -> None:
        """Keep the maps of a finished map job, each under the parameters that made it (the user may
        have changed them since), and what the job learnt about its image."""
        for m, hm in res.maps.items():
            self.map_cache.put(map_key(res.sha256, res.model_sha256, res.params[m], res.target.key), hm)
        if self.model is not None and res.model_sha256 == self.model.card.weights_sha256:
            self.map_times.add_maps(res.seconds, len(res.maps))
        self.project.record_maps(res)
        for i, e in enumerate(self.entries):
            if e.path == res.path:
                e.sha256 = e.sha256 or res.sha256
                if e.prediction is None and res.prediction is not None:
                    e.prediction = res.prediction
                    self.entry_changed.emit(i)

    # ------------------------------------------------------------------ current image and selection
    def select(self, row: int) -> None:
        """Make the image at `row` (folder order) the current one. A typed target that is not pinned
        goes back to the predicted class: text typed for one image is no question about the next
        (a typed "ruler" stayed and lit a hair on the next image)."""
        if 0 <= row < len(self.entries) and row != self.current_row:
            self.current_row = row
            drop_typed = self.typed_target and not self.pin_typed
            if drop_typed:
                self.target_choice, self.text_match = TargetChoice("predicted"), ""
                self.typed_target, self.unknown_words = False, []
            self.current_changed.emit()
            if drop_typed:
                self.target_changed.emit()

    def deselect(self) -> None:
        """No current image (the grid's filters show none): every panel says so."""
        if self.current_row is not None:
            self.current_row = None
            self.current_changed.emit()

    def set_selection(self, rows: list[int]) -> None:
        """The selected images' rows (folder order), listed in grid order."""
        self.selected_rows = list(rows)
        self.selection_changed.emit()

    # ------------------------------------------------------------------ method, target, look
    def set_method(self, method: str) -> None:
        if method not in METHODS:
            return
        self.current_method = self.settings.method = method
        self.method_changed.emit(method)

    def set_params(self, method: str, params: MethodParams) -> None:
        """Use `params` for `method` from now on, in this session and the next ones."""
        self.params[method] = params
        self.settings.set_method_params(params)
        self.params_changed.emit(method)

    def set_target(
        self,
        choice: TargetChoice,
        text_match: str = "",
        typed: bool = False,
        unknown: list[str] | None = None,
    ) -> None:
        """`typed`: the target came from the free-text box (`unknown`: its words the model never saw)."""
        self.target_choice = choice
        self.text_match = text_match
        self.typed_target = typed
        self.unknown_words = list(unknown or [])
        self.target_changed.emit()

    def set_free_text_target(self, text: str) -> None:
        """Explain typed text: a catalogue class or criterion when the text names one, up to case and
        punctuation or through a wording the model was trained on (and `text_match` says which), else
        the text itself (and `unknown_words` names its words the model was never trained on). An empty
        box gives the predicted class back."""
        text = text.strip()
        if not text:
            if self.typed_target:
                self.set_target(TargetChoice("predicted"))
            return
        choice, match, unknown = TargetChoice("text", text), "", []
        if self.model is not None:
            typed = resolve_typed(self.model.catalogue, text, self.model.card)
            resolved = typed.target
            if resolved.kind in ("class", "criterion"):
                choice = TargetChoice(resolved.kind, resolved.key)
                match = describe_match(self.model.catalogue, resolved, typed.wording)
            else:
                unknown = unknown_words(self.model.card, text)
        self.set_target(choice, match, typed=True, unknown=unknown)

    def set_pin_typed(self, pinned: bool) -> None:
        """Keep a typed target from image to image (True), or let a new image clear it."""
        if pinned != self.pin_typed:
            self.pin_typed = pinned
            self.pin_changed.emit(pinned)

    def set_low_confidence(self, threshold: float) -> None:
        self.settings.low_confidence = max(0.0, min(1.0, threshold))
        self.low_confidence_changed.emit(self.settings.low_confidence)

    def set_colormap(self, name: str) -> None:
        if name not in COLORMAPS:
            return
        self.colormap = self.settings.colormap = name
        self.colormap_changed.emit(name)

    def set_opacity(self, opacity: float) -> None:
        self.opacity = max(0.0, min(1.0, opacity))
        self.settings.opacity = round(self.opacity * 100)
        self.opacity_changed.emit(self.opacity)

    def set_overlay_alpha(self, name: str) -> None:
        """How the overlay's opacity follows relevance (`core.render.OVERLAY_ALPHAS`), from now on."""
        if name not in OVERLAY_ALPHAS:
            return
        self.overlay_alpha = self.settings.overlay_alpha = name
        self.overlay_alpha_changed.emit(name)

    # ------------------------------------------------------------------ review
    def _push_review(
        self, decision: str, final_class: str | None, note: str | None, text: str, event: str
    ) -> bool:
        e = self.current_entry
        if e is None or e.prediction is None or not e.sha256 or self.review_store is None:
            self.message.emit("Select an analysed image first", 5000)
            return False
        if not self.review_store.reviewer:  # asked once, at the first decision (never when a folder opens)
            self.review_store.reviewer = self.project.reviewer()
        old = self.review_store.get(e.sha256)
        rec = ReviewRecord(
            image_sha256=e.sha256,
            file_name=e.name,
            decision=decision,
            final_class=final_class,
            predicted_class=e.prediction.predicted_id,
            note=note if note is not None else (old.note if old else ""),
        )
        self.undo_stack.push(  # the review store audits the change (see ReviewCommand)
            ReviewCommand(
                self.review_store,
                e.sha256,
                rec,
                text,
                lambda sha, _how: self.review_changed.emit(sha),
                event,
                e.prediction.model_sha256,
            )
        )
        return True

    def set_reviewer(self, name: str) -> None:
        """The name recorded with the next review decisions (Preferences); "" asks at the next decision."""
        self.settings.reviewer_name = name
        if self.review_store is not None:
            self.review_store.reviewer = name

    def accept_prediction(self) -> bool:
        e = self.current_entry
        if e is None or e.prediction is None:
            self.message.emit("Select an analysed image first", 5000)
            return False
        done = self._push_review(
            "accepted", e.prediction.predicted_id, None, f"accept {e.name}", "review_accept"
        )
        if done:
            self.review_decided.emit()
        return done

    def override_prediction(self, class_id: str) -> bool:
        if not class_id:
            return False
        e = self.current_entry
        if e is not None and e.prediction is not None and class_id == e.prediction.predicted_id:
            return self.accept_prediction()
        done = self._push_review(
            "overridden", class_id, None, f"override {e.name if e else ''} → {class_id}", "review_override"
        )
        if done:
            self.review_decided.emit()
        return done

    def is_reviewed(self, entry: FolderImage) -> bool:
        rec = self.review_of(entry.sha256)
        return rec is not None and rec.decision != "pending"

    def set_note(self, note: str) -> bool:
        e = self.current_entry
        if e is None or e.prediction is None or not e.sha256:
            return False
        old = self.review_of(e.sha256)
        if old is not None and old.note == note:
            return False
        decision = old.decision if old else "pending"
        final = old.final_class if old else None
        return self._push_review(decision, final, note, f"note on {e.name}", "review_note")

    def reset_review(self) -> bool:
        return self._push_review("pending", None, None, "reset review", "review_reset")

    def undo(self) -> None:
        """Undo the last review action and show its image (the grid may have moved on since)."""
        if self.undo_stack.canUndo():
            cmd = self.undo_stack.command(self.undo_stack.index() - 1)
            self.undo_stack.undo()
            self._select_sha(cmd.sha256 if isinstance(cmd, ReviewCommand) else None)

    def redo(self) -> None:
        if self.undo_stack.canRedo():
            cmd = self.undo_stack.command(self.undo_stack.index())
            self.undo_stack.redo()
            self._select_sha(cmd.sha256 if isinstance(cmd, ReviewCommand) else None)

    def _select_sha(self, sha: str | None) -> None:
        row = next((i for i, e in enumerate(self.entries) if sha and e.sha256 == sha), None)
        if row is not None:
            self.select(row)
