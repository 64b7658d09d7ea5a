"""Connects the app model to the project store, through the model's signals only.

When a folder opens, every file unchanged since it was last read gets its SHA-256 from the store (no
hashing), and every prediction stored for those images (and for images seen before under the same
file name and size, as in a moved folder) goes into the model's prediction cache; the
predictions of the model in use are put on their tiles at once, and one job in the worker then makes
just their thumbnails (no forward pass), while the usual batch analyses only what is new. Each new
prediction is written to the store as it arrives. The reviewer's name (asked once, kept in the
settings) is stamped on every decision.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from PySide6.QtCore import QObject

from medgrad_desktop.appdata import take_notices
from medgrad_desktop.core.method_params import MethodParams
from medgrad_desktop.core.stability import STABILITY_RULE
from medgrad_desktop.store import ProjectStore, StoreError
from medgrad_desktop.ui.state.folder_image import FolderImage
from medgrad_desktop.ui.work.jobs import predict_batch

log = logging.getLogger(__name__)
AskReviewer = Callable[[], str]  # returns a name, or "" when the person declined


class ProjectBridge(QObject):
    def __init__(self, app, store: ProjectStore | None = None, ask_reviewer: AskReviewer | None = None):
        super().__init__(app)
        self.app = app
        self._store = store
        self.ask_reviewer = ask_reviewer
        self._stored: set[tuple[str, str]] = set()  # (image, model) already in the store
        self.prefilled = 0  # predictions shown from the store when the folder last opened
        app.folder_opened.connect(self._on_folder_opened)
        app.entry_changed.connect(self._on_entry_changed)

    @property
    def store(self) -> ProjectStore | None:
        if self._store is None:
            try:
                self._store = ProjectStore.shared()
            except (StoreError, OSError) as exc:
                self.app.message.emit(f"Project store unavailable ({exc}); nothing will be remembered", 30000)
                return None
            notes = [*take_notices(), *([self._store.notice] if self._store.notice else [])]
            if notes:
                self.app.message.emit("; ".join(notes), 60000)
        return self._store

    def reviewer(self) -> str:
        """The reviewer's name from the settings; asked for once when there is none and a way to ask."""
        name = self.app.settings.reviewer_name
        if not name and self.ask_reviewer is not None:
            name = self.ask_reviewer().strip()
            if name:
                self.app.settings.reviewer_name = name
        return name

    def _on_folder_opened(self, _folder: str) -> None:
        store = self.store
        if store is None:
            return
        app = self.app
        if app.review_store is not None:  # the name is asked at the first decision, not here
            app.review_store.reviewer = app.settings.reviewer_name
        entries: list[FolderImage] = app.entries
        known = store.known_hashes([e.path for e in entries])
        for e in entries:
            e.sha256 = known.get(e.path, e.sha256)
        hints = store.likely_hashes([e.path for e in entries if e.path not in known])
        stored = store.predictions({*known.values(), *hints})
        app.pred_cache.update(stored)
        self._stored.update(stored)
        self.prefilled = 0
        model = app.model
        if model is None:
            return  # the batch finds them in the cache once the model is loaded: no forward pass
        sha = model.card.weights_sha256
        shown = []
        for i, e in enumerate(entries):
            pred = stored.get((e.sha256, sha)) if e.sha256 else None
            if pred is not None and not pred.ood_matches(model.card.ood_stats_sha256):
                continue  # its out-of-distribution result is from other statistics: the batch redoes it
            if pred is not None and e.prediction is None and e.error is None:
                e.prediction = pred
                shown.append((i, e.path))
        self.prefilled = len(shown)
        if shown:
            handle = app.worker.submit(
                predict_batch(shown, dict(app.pred_cache)), kind="thumbnails", total=len(shown)
            )
            handle.item.connect(lambda item, ents=entries: app._on_predict_item(item, ents))
            app.entries_refreshed.emit()

    def record_maps(self, res) -> None:
        """What each map the app made was made from (method parameters, target) and its strength;
        the pixels are recomputed when needed, never stored."""
        store = self.store
        if store is None or not res.sha256 or not res.model_sha256:
            return
        try:
            for hm in res.maps.values():
                store.put_heatmap(res.sha256, hm)
        except Exception as exc:  # noqa: BLE001 - the app works on without the store; say so
            log.warning("could not store the map metadata of %s: %s", res.path, exc)
            self.app.message.emit(f"Could not store the map metadata ({exc})", 15000)

    def record_stability(
        self, sha256: str, model_sha256: str, params: MethodParams, target_key: str, value: float | None
    ) -> None:
        """A map's stability figure, as the app measured it (`core.stability`), on its map's row."""
        store = self.store
        if store is None or not sha256 or not model_sha256:
            return
        try:
            store.put_map_stability(
                sha256, model_sha256, params.to_dict(), target_key, value, STABILITY_RULE.to_json()
            )
        except Exception as exc:  # noqa: BLE001 - the app works on without the store; say so
            log.warning("could not store a map's stability: %s", exc)
            self.app.message.emit(f"Could not store the map's stability ({exc})", 15000)

    def _on_entry_changed(self, index: int) -> None:
        if not 0 <= index < len(self.app.entries):
            return
        e = self.app.entries[index]
        if not e.sha256 or e.prediction is None:
            return
        key = (e.sha256, e.prediction.model_sha256)
        if key in self._stored:
            return
        store = self.store
        if store is None:
            return
        try:
            store.record_image(e.sha256, e.path, e.size)
            store.put_prediction(e.sha256, e.prediction)
        except Exception as exc:  # noqa: BLE001 - the app works on without the store; say so once
            log.warning("could not store the prediction of %s: %s", e.name, exc)
            self.app.message.emit(f"Could not store the prediction of {e.name} ({exc})", 15000)
            return
        self._stored.add(key)
