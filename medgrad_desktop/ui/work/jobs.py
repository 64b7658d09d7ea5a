"""The job functions the app hands to the worker: they run in the worker thread and return plain data.

They import no torch: what needs it (classify, analyze, the GPU fallback) comes through `ctx.compute`,
which the worker imports behind the window. Kept apart from widgets so they can be read and tested on
their own.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from medgrad_desktop.core.batching import images_per_pass
from medgrad_desktop.core.cancel import Cancelled
from medgrad_desktop.core.heatmap import Heatmap
from medgrad_desktop.core.imageio import ImageLoadError, LoadedImage, load_image
from medgrad_desktop.core.method_params import MethodParams
from medgrad_desktop.core.prediction import Prediction
from medgrad_desktop.core.prompts import Target
from medgrad_desktop.core.retest import RETEST_RULE, RetestRule, spread
from medgrad_desktop.core.stability import STABILITY_RULE, StabilityRule
from medgrad_desktop.ui.state.target_choice import TargetChoice
from medgrad_desktop.ui.work.qimages import display_qimage
from medgrad_desktop.ui.work.worker import JobContext

THUMB_SIZE = 160
log = logging.getLogger(__name__)


def make_thumbnail(rgb: np.ndarray, size: int = THUMB_SIZE) -> np.ndarray:
    img = Image.fromarray(rgb)
    img.thumbnail((size, size), Image.Resampling.BILINEAR)
    return np.ascontiguousarray(np.asarray(img.convert("RGB")))


def _noter(notes: list[str]):
    """Collect a fallback message for the result and log it (the UI shows `note` where it can)."""

    def note(message: str) -> None:
        notes.append(message)
        log.warning(message)

    return note


def _one_line_error(path: Path, exc: Exception) -> str:
    if isinstance(exc, ImageLoadError):
        return str(exc)
    return f"{path.name}: could not be analysed ({type(exc).__name__}: {str(exc)[:160]}); see the log"


@dataclass
class PredictItem:
    index: int
    path: Path
    sha256: str | None = None
    prediction: Prediction | None = None
    thumbnail: np.ndarray | None = None
    size: tuple[int, int] | None = None
    error: str | None = None
    model_sha256: str = ""
    note: str | None = None  # e.g. "computed on the CPU" after a GPU out-of-memory


def _classify_together(ctx: JobContext, clip: Any, batch: list[tuple[PredictItem, LoadedImage]]) -> None:
    """One forward pass for the images of `batch`; if it fails, each image alone, so one bad image
    costs only its own prediction."""
    compute, notes = ctx.compute, []
    what = batch[0][0].path.name if len(batch) == 1 else f"{len(batch)} images from {batch[0][0].path.name}"
    rgbs = [li.rgb for _, li in batch]
    try:
        preds = compute.run_with_fallback(
            clip,
            lambda m: compute.classify(m, rgbs, batch_size=len(rgbs)),
            on_fallback=_noter(notes),
            what=what,
        )
    except Exception:
        if len(batch) == 1:
            raise
        for one in batch:
            try:
                _classify_together(ctx, clip, [one])
            except Exception as exc:  # noqa: BLE001 - one bad file must not stop the batch
                one[0].error = _one_line_error(one[0].path, exc)
        return
    for (item, _), pred in zip(batch, preds, strict=True):
        item.prediction = pred
        item.note = notes[0] if notes else None


def predict_batch(
    items: list[tuple[int, Path]], known: dict[tuple[str, str], Prediction], batch_size: int | None = None
):
    """A job: load, hash and classify the images, `batch_size` of them per forward pass (default: the
    batch policy's "app-predictions" rule), streaming one `PredictItem` per image. Cancel and waiting interactive jobs take effect
    between passes. A file that fails gives an item with `error` set, and the batch goes on."""

    def run(ctx: JobContext) -> int:
        clip = ctx.model
        if clip is None:
            raise RuntimeError("no model is loaded; choose a weights file in Preferences")
        size = images_per_pass("app-predictions", clip, batch_size)
        total, done = len(items), 0
        ctx.progress(0, total)
        for start in range(0, total, size):
            ctx.checkpoint()
            chunk, todo = [], []
            for index, path in items[start : start + size]:
                item = PredictItem(index, path, model_sha256=clip.card.weights_sha256)
                chunk.append(item)
                try:
                    loaded = load_image(path)
                except Exception as exc:  # noqa: BLE001 - one bad file must not stop the batch
                    item.error = _one_line_error(path, exc)
                    continue
                item.sha256, item.size = loaded.sha256, loaded.size
                item.thumbnail = make_thumbnail(loaded.rgb)
                item.prediction = known.get((loaded.sha256, clip.card.weights_sha256))
                if item.prediction is not None and not item.prediction.ood_matches(
                    clip.card.ood_stats_sha256
                ):
                    item.prediction = None  # checked against other statistics, or none: made again
                if item.prediction is None:
                    todo.append((item, loaded))
            if todo:
                _classify_together(ctx, clip, todo)
            for item in chunk:
                done += 1
                ctx.emit_item(item)
                ctx.progress(done, total)
        return total

    return run


@dataclass
class MapRequest:
    path: Path
    choice: TargetChoice
    params: list[MethodParams]
    rgb: np.ndarray | None = None  # given (with sha256) when the UI still holds the decoded image
    sha256: str | None = None
    prediction: Prediction | None = None


@dataclass
class MapResult:
    path: Path
    sha256: str
    rgb: np.ndarray
    prediction: Prediction
    target: Target
    maps: dict[str, Heatmap] = field(default_factory=dict)  # method -> map
    model_sha256: str = ""
    note: str | None = None  # e.g. "computed on the CPU" after a GPU out-of-memory
    params: dict[str, MethodParams] = field(default_factory=dict)  # method -> the params that made its map
    display: object = None  # QImage (RGB32) for the viewer, made here when the image was decoded here
    seconds: float = 0.0  # the analysis's time (forward pass and maps), for `MeasuredTimes`


def compute_maps(req: MapRequest):
    """A job: the image (decoded here if the UI does not hold it), its prediction and the requested
    methods' maps for the chosen target, from one forward pass."""

    def run(ctx: JobContext) -> MapResult:
        clip = ctx.model
        if clip is None:
            raise RuntimeError("no model is loaded; choose a weights file in Preferences")
        compute = ctx.compute
        display = None
        if req.rgb is not None and req.sha256:
            rgb, sha = req.rgb, req.sha256
        else:
            loaded = load_image(req.path)
            rgb, sha = loaded.rgb, loaded.sha256
            display = display_qimage(rgb)
        pred = (
            req.prediction
            if req.prediction is not None and req.prediction.model_sha256 == clip.card.weights_sha256
            else None
        )
        notes: list[str] = []
        if pred is None and req.choice.depends_on_prediction():
            pred = compute.run_with_fallback(
                clip,
                lambda m: compute.classify(m, [rgb], batch_size=1)[0],
                on_fallback=_noter(notes),
                what=req.path.name,
            )
        target = req.choice.resolve(clip.catalogue, pred)
        started = time.monotonic()
        result = compute.run_with_fallback(
            clip,
            lambda m: compute.analyze(m, rgb, [target], list(req.params), with_prediction=pred is None),
            on_fallback=_noter(notes),
            what=req.path.name,
        )
        pred = pred or result.prediction
        maps = {p.method: result.get(p.method, target) for p in req.params}
        return MapResult(
            req.path,
            sha,
            rgb,
            pred,
            target,
            maps,
            clip.card.weights_sha256,
            note=notes[-1] if notes else None,
            params={p.method: p for p in req.params},
            display=display,
            seconds=time.monotonic() - started,
        )

    return run


def retest_spread(rgbs: list[np.ndarray], rule: RetestRule = RETEST_RULE):
    """A job: each visit's test-retest spread (`core.retest.spread`) from its image and the rule's
    re-photographed copies (`data.retake`), all visits' images classified in one batched pass. Returns
    one {row key: standard deviation} per visit, in the order given. `data.retake` is imported in the
    job, on the worker's thread: its artefact painters pull scikit-image and SciPy, which the window's
    start-up does not need."""

    def run(ctx: JobContext) -> list[dict[str, float]]:
        from medgrad_desktop.data.retake import retest_copies

        clip = ctx.model
        if clip is None:
            raise RuntimeError("no model is loaded; choose a weights file in Preferences")
        compute = ctx.compute
        images = [img for rgb in rgbs for img in (rgb, *retest_copies(rgb, rule))]
        preds = compute.run_with_fallback(
            clip,
            lambda m: compute.classify(m, images, batch_size=len(images)),
            on_fallback=_noter([]),
            what="the follow-up's re-photographed copies",
        )
        n = rule.copies + 1
        return [spread(preds[i * n : (i + 1) * n]) for i in range(len(rgbs))]

    return run


@dataclass
class MapsStabilityRequest:
    """Drawn maps of one image and target whose stability is wanted (the comparison's three, or the
    single view's one): the image they were computed from and, per map, its key (files the answer in
    the UI's cache), its params and its min-max grid."""

    sha256: str
    model_sha256: str
    rgb: np.ndarray
    target: Target
    maps: list[tuple[tuple, MethodParams, np.ndarray]]


@dataclass
class StabilityResult:
    """Each requested map's figure (None: a map without contrast), as (key, params, figure)."""

    sha256: str
    model_sha256: str
    target: Target
    figures: list[tuple[tuple, MethodParams, float | None]]


def compute_maps_stability(req: MapsStabilityRequest, rule: StabilityRule = STABILITY_RULE):
    """A job: the stability figures of one image's maps for one target (`core.explain.stability`, the
    measure the reports use): the same methods and target explained on the rule's noisy copies of the
    model-input image, every copy and method in one batched pass."""

    def run(ctx: JobContext) -> StabilityResult:
        clip = ctx.model
        if clip is None:
            raise RuntimeError("no model is loaded; choose a weights file in Preferences")
        if clip.card.weights_sha256 != req.model_sha256:
            # another model was loaded after the maps were drawn: its copies' maps measured against the
            # old model's maps would give a figure of neither, filed under the old model's key
            raise Cancelled()
        params, bases = [p for _, p, _ in req.maps], [b for _, _, b in req.maps]
        compute = ctx.compute
        values = compute.run_with_fallback(
            clip,
            lambda m: compute.measure_stability(m, req.rgb, req.target, params, bases, rule),
            on_fallback=_noter([]),
            what="the map's noisy copies",
        )
        figures = [(k, p, v) for (k, p, _), v in zip(req.maps, values, strict=True)]
        return StabilityResult(req.sha256, req.model_sha256, req.target, figures)

    return run
