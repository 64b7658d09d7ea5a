"""Keeps the viewers showing the current image and its maps: decodes the image and computes missing
maps as worker jobs, files the results in the app model's caches and draws them in the `ViewerArea`.

It follows the app model (current image, method, parameters, target) and the viewer area (single or
comparison). A map already in the cache is shown at once, without a job; at most one image job and one
map job run, and a newer request replaces an older one.

Once the current method's map is drawn in the single view (or the three maps in the comparison), their
stability (`core.stability`) follows as one job of its own below the map jobs' priority, so it never
delays a map; each figure is cached with its map's key, kept in the project store and shown under the
map's caption. The setting `show_stability` (View menu) turns it off: then no such job is submitted.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QObject
from PySide6.QtGui import QPixmap

from medgrad_desktop.core.imageio import load_image
from medgrad_desktop.core.method_params import METHOD_NAMES, METHODS, default_params
from medgrad_desktop.core.prompts import Target
from medgrad_desktop.core.stability import STABILITY_RULE
from medgrad_desktop.ui.state.app_model import AppModel
from medgrad_desktop.ui.state.cache import LRUCache, map_key
from medgrad_desktop.ui.state.folder_image import NOT_ANALYSED, FolderImage
from medgrad_desktop.ui.widgets.viewer_area import ViewerArea
from medgrad_desktop.ui.work.jobs import (
    MapRequest,
    MapResult,
    MapsStabilityRequest,
    StabilityResult,
    compute_maps,
    compute_maps_stability,
)
from medgrad_desktop.ui.work.qimages import display_qimage
from medgrad_desktop.ui.work.worker import JobHandle, ModelWorker


class MapController(QObject):
    def __init__(self, app: AppModel, worker: ModelWorker, area: ViewerArea, parent: QObject | None = None):
        super().__init__(parent)
        self.app, self.worker, self.area = app, worker, area
        self.rgb_cache = LRUCache(6)  # path -> (sha256, rgb, QPixmap for the viewers)
        self._map_job: JobHandle | None = None
        self._map_job_key: tuple | None = None
        self._image_job: JobHandle | None = None
        self.stability_cache = LRUCache(256)  # map key -> max-sensitivity (None: a map without contrast)
        self._stability_job: JobHandle | None = None
        self._stability_keys: frozenset[tuple] = frozenset()  # the maps the job in flight measures
        self._stability_methods: list[tuple[str, tuple]] = []  # (method, map key) the job in flight measures
        # (image, message) of the current image's failed map job: redrawn after the image itself arrives,
        # which would otherwise replace the failure with an empty map panel
        self._map_failure: tuple[Path, str] | None = None
        app.folder_opened.connect(self._on_folder_opened)
        app.current_changed.connect(self.show_current)
        for signal in (
            app.method_changed,
            app.params_changed,
            app.target_changed,
            area.compare_changed,
            app.predictions_finished,
        ):
            signal.connect(self.request_maps)

    def _on_folder_opened(self) -> None:
        if self._map_job is not None:
            self._map_job.cancel()
        self.area.set_image(None, None)

    def show_current(self) -> None:
        """The current image (decoded in the worker when not at hand) and its maps."""
        e = self.app.current_entry
        if e is None:
            self.area.show_nothing(self.app.no_entry_text())
            return
        if e.error:
            self.area.show_nothing(e.error)
            return
        cached = self.rgb_cache.get(e.path)
        if cached is not None:
            self.area.set_image(e.path, cached[2])
        else:
            self.area.set_image(None, None)  # never leave the previous image under this image's panel
            self.area.set_caption(f"{e.name} · loading…")
            self._request_image(e)
        self.request_maps()

    def _request_image(self, e: FolderImage) -> None:
        """Decode the image in the worker (never here), ahead of its maps."""
        if self._image_job is not None:
            self._image_job.cancel()
        path = e.path

        def run(ctx):
            li = load_image(path)
            return (path, li.sha256, li.rgb, display_qimage(li.rgb))

        h = self.worker.submit(
            run, kind="image", priority=ModelWorker.PRIORITY_INTERACTIVE + 1, uses_model=False
        )
        h.result.connect(self._on_image_loaded)
        self._image_job = h

    def _on_image_loaded(self, res) -> None:
        path, sha, rgb, display = res
        pixmap = QPixmap.fromImage(display)
        self.rgb_cache.put(path, (sha, rgb, pixmap))
        e = self.app.current_entry
        if e is not None and e.path == path:
            e.sha256 = e.sha256 or sha
            self.area.set_image(path, pixmap)
            self._show_cached_maps()
            if self._map_failure is not None and self._map_failure[0] == path:
                self.area.clear_maps(f"Map failed: {self._map_failure[1]}")

    def _on_map_error(self, h: JobHandle, path: Path, msg: str) -> None:
        if h is not self._map_job:
            return
        self._map_failure = (path, msg)
        self.area.clear_maps(f"Map failed: {msg}")

    def methods_needed(self) -> list[str]:
        return list(METHODS) if self.area.compare else [self.app.current_method]

    def _show_cached_maps(self) -> bool:
        """Show every needed map that is cached; True when nothing is missing."""
        app, e = self.app, self.app.current_entry
        target = app.target_for(e) if e is not None and app.model is not None and e.sha256 else None
        if target is None:
            self.area.clear_stability()
            return False
        complete = True
        image_shown = self.area.shown_path == e.path
        for m in self.methods_needed():
            hm = app.cached_map(e, m, target)
            if hm is None:
                complete = False
            if image_shown:  # a map is only ever drawn over the image it was computed from
                self.area.display_map(m, app.current_method, hm, target, app.params[m] != default_params(m))
        self.show_stability()
        return complete

    def show_stability(self) -> None:
        """Each shown map's stability under its caption (the current method's in the single view, all
        three in the comparison): from the cache, or measured by one job once the maps are drawn; no
        line (and no job) with the setting off, or for a map not drawn."""
        app, e = self.app, self.app.current_entry
        target = app.target_for(e) if e is not None and app.model is not None else None
        cached = self.rgb_cache.get(e.path) if e is not None else None
        shown = (
            app.settings.show_stability
            and target is not None
            and cached is not None
            and self.area.shown_path == e.path
        )
        if not app.settings.show_stability and self._stability_job is not None:
            self._stability_job.cancel()  # turned off: a figure still waiting for the worker is not made
        todo = []
        for m in self.methods_needed():
            hm = app.cached_map(e, m, target) if shown else None
            if hm is None or hm.empty:
                self._stability_line(m, None)
                continue
            key = map_key(e.sha256, app.model.card.weights_sha256, app.params[m], target.key)
            if key in self.stability_cache:
                value = self.stability_cache.get(key)
                self._stability_line(m, None if value is None else STABILITY_RULE.text(value))
            else:
                self._stability_line(m, "Stability: measuring…")
                todo.append((key, app.params[m], hm.normalized))
        if not todo:
            return
        keys = frozenset(k for k, _, _ in todo)
        if self._stability_job is not None and not self._stability_job.is_finished:
            if keys <= self._stability_keys:
                return
            self._stability_job.cancel()
        req = MapsStabilityRequest(e.sha256, app.model.card.weights_sha256, cached[1], target, todo)
        h = self.worker.submit(
            compute_maps_stability(req),
            kind="stability",
            priority=ModelWorker.PRIORITY_BATCH + 1,
            interactive=False,
        )
        h.result.connect(self._on_stability)
        h.error.connect(lambda msg, h=h: self._on_stability_error(h, msg))
        self._stability_job, self._stability_keys = h, keys
        self._stability_methods = [(p.method, k) for k, p, _ in todo]

    def _stability_line(self, method: str, text: str | None) -> None:
        """`method`'s stability line in the view in front (None: no line)."""
        where = method if self.area.compare else None
        self.area.set_stability(text, STABILITY_RULE.how_measured(), where)

    def _on_stability(self, res: StabilityResult) -> None:
        for key, params, value in res.figures:
            self.stability_cache.put(key, value)
            self.app.project.record_stability(res.sha256, res.model_sha256, params, res.target.key, value)
        if any(key in self._stability_keys for key, _, _ in res.figures):
            self.show_stability()

    def _on_stability_error(self, h: JobHandle, msg: str) -> None:
        """The failure goes under the map it was for, and under no other: the view may show another
        image, target or parameters by now (and their own figure)."""
        if h is not self._stability_job:
            return
        app, e = self.app, self.app.current_entry
        target = app.target_for(e) if e is not None and app.model is not None else None
        if target is None or not app.settings.show_stability:
            return
        for m, key in self._stability_methods:
            now = map_key(e.sha256, app.model.card.weights_sha256, app.params[m], target.key)
            if m in self.methods_needed() and key == now:
                self._stability_line(m, f"Stability: not measured ({msg})")

    def request_maps(self) -> None:
        app, e = self.app, self.app.current_entry
        if e is None or e.error or app.model is None:
            return
        if e.prediction is None and app.target_choice.depends_on_prediction():
            self.area.clear_maps(
                f"{e.name} · {NOT_ANALYSED}"
                if app.batch_cancelled
                else "waiting for this image's prediction…"
            )
            return
        if self._show_cached_maps():
            return
        methods = self.methods_needed()
        cached = self.rgb_cache.get(e.path)
        key = (
            e.path,
            tuple(app.params[m] for m in methods),
            app.target_choice,
            app.model.card.weights_sha256,
        )
        if self._map_job is not None and not self._map_job.is_finished and self._map_job_key == key:
            return
        if self._map_job is not None:
            self._map_job.cancel()
        req = MapRequest(
            e.path,
            app.target_choice,
            [app.params[m] for m in methods],
            rgb=cached[1] if cached else None,
            sha256=cached[0] if cached else None,
            prediction=e.prediction,
        )
        h = self.worker.submit(compute_maps(req), kind="maps", priority=ModelWorker.PRIORITY_INTERACTIVE)
        h.result.connect(self.on_maps)
        h.error.connect(lambda msg, h=h, path=e.path: self._on_map_error(h, path, msg))
        self._map_job, self._map_job_key = h, key
        self._map_failure = None
        for m in methods:
            if app.cached_map(e, m, app.target_for(e) or Target.free_text("x")) is None:
                self.area.caption(m, app.current_method, f"{METHOD_NAMES[m]} · computing…")

    def on_maps(self, res: MapResult) -> None:
        """A finished map job: file its maps, keep its decoded image, show both if still current."""
        self.app.file_maps(res)
        cached = self.rgb_cache.get(res.path)
        if res.display is not None or cached is None:
            pixmap = QPixmap.fromImage(res.display if res.display is not None else display_qimage(res.rgb))
        else:
            pixmap = cached[2]
        self.rgb_cache.put(res.path, (res.sha256, res.rgb, pixmap))
        if res.note:
            self.app.message.emit(res.note, 10000)
        e = self.app.current_entry
        if e is not None and e.path == res.path:
            self.area.set_image(res.path, pixmap)
            self._show_cached_maps()
