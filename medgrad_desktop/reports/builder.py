"""Build a `ReportContent` from images, a model, method parameters and the review store.

One `analyze` call (one forward) per image gives the prediction and, because every class is a target,
the map of whichever class turns out to be predicted. A file that cannot be read becomes an error row
and the report goes on; any other failure stops the report with `ReportFailed` naming the image, so a
caller never writes a report that silently lacks pages.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from medgrad_desktop import provenance
from medgrad_desktop.core.explain import METHOD_NAMES, MethodParams, analyze
from medgrad_desktop.core.fallback import run_with_fallback
from medgrad_desktop.core.imageio import ImageLoadError, display_name, load_image
from medgrad_desktop.core.model import ClipModel
from medgrad_desktop.core.render import DEFAULT_COLORMAP
from medgrad_desktop.reports.content import (
    ClassProbability,
    CriterionRow,
    ImageEntry,
    OverlayPanel,
    ReportContent,
    ReportImage,
    ReviewInfo,
)
from medgrad_desktop.reports.deidentify import encode_png, pseudonym
from medgrad_desktop.reports.figures import downscale, overlay

log = logging.getLogger(__name__)
Progress = Callable[[int, int, str], None]  # done, total, what is being done (may name a file)
Checkpoint = Callable[[], None]  # raises to cancel


class ReportFailed(Exception):
    """The report stopped; `str()` names the image and the cause. Nothing was written."""


@dataclass(frozen=True)
class ReportOptions:
    deidentify: bool = True
    top_k: int = 5
    colormap: str = DEFAULT_COLORMAP
    opacity: float = 0.5
    max_side: int = 1024  # longest side of the pictures in a report, in pixels
    title: str = "MedGrad Desktop report"


def _review_info(review_store, sha: str, clip: ClipModel, predicted_id: str) -> ReviewInfo:
    rec = review_store.get(sha) if review_store is not None else None
    if rec is None:
        return ReviewInfo("pending")
    names = {c.id: c.display_name for c in clip.catalogue.classes}
    final = rec.final_class
    if rec.decision == "accepted" and not final:
        final = rec.predicted_class or predicted_id
    seen = rec.predicted_class if rec.predicted_class and rec.predicted_class != predicted_id else None
    return ReviewInfo(decision=rec.decision, final_class_id=final, final_class=names.get(final, final) if final
                      else None, note=rec.note or "", updated=rec.updated,
                      reviewed_prediction=names.get(seen, seen) if seen else None)


def _spool(rgb, spool: Path, name: str) -> ReportImage:
    path = spool / name  # scratch inside the export's staging folder, removed after it: no fsync needed
    path.write_bytes(encode_png(rgb, level=1))
    return ReportImage(path, int(rgb.shape[1]), int(rgb.shape[0]))


def build_entry(index: int, path: Path, clip: ClipModel, params: list[MethodParams], review_store,
                options: ReportOptions, spool: Path) -> ImageEntry:
    label = pseudonym(index) if options.deidentify else display_name(path)
    try:
        img = load_image(path)
    except ImageLoadError as exc:
        cause = exc.cause
        if options.deidentify:  # a decoder's message may quote the path: never let it into a report
            for ident in sorted({str(path.resolve()), str(path), path.name, path.stem}, key=len, reverse=True):
                cause = cause.replace(ident, label)
        return ImageEntry(index=index, label=label, sha256=None, error=cause)
    targets = clip.catalogue.class_targets()
    result = run_with_fallback(clip, lambda m: analyze(m, img.rgb, targets, params),
                               on_fallback=log.warning, what=label)  # GPU out of memory: this image on the CPU
    pred = result.prediction
    small = downscale(img.rgb, options.max_side)
    stem = f"{index:05d}"
    entry = ImageEntry(
        index=index, label=label, sha256=img.sha256, width=img.size[0], height=img.size[1],
        predicted_id=pred.predicted_id, predicted_name=pred.predicted_name, confidence=pred.confidence,
        probabilities=dict(zip(pred.class_ids, pred.probabilities, strict=True)),
        top_k=[ClassProbability(i, n, p) for i, n, p in pred.top_k(options.top_k)],
        criteria=[CriterionRow(c.criterion_id, c.display_name, c.option_id, c.phrase, c.probability, c.points)
                  for c in pred.criteria],
        seven_point_score=pred.seven_point_score if pred.criteria else None,
        seven_point_threshold=pred.seven_point_threshold if pred.criteria else None,
        review=_review_info(review_store, img.sha256, clip, pred.predicted_id),
        original=_spool(small, spool, f"{stem}_original.png"),
    )
    for p in params:
        h = result.get(p.method, pred.predicted_id)
        over = overlay(small, h.normalized, options.opacity, options.colormap)
        entry.overlays.append(OverlayPanel(
            method=p.method, method_name=METHOD_NAMES[p.method], target_label=h.target.label,
            image=_spool(over, spool, f"{stem}_{p.method}.png"), score=h.score, raw_max=float(h.raw.max())))
    return entry


def build_report(paths: list[Path], clip: ClipModel, params: list[MethodParams], review_store,
                 spool: Path, options: ReportOptions | None = None, *, progress: Progress | None = None,
                 checkpoint: Checkpoint | None = None) -> ReportContent:
    """`review_store`: anything with `.get(sha256) -> ReviewRecord | None` (or None: all pending).
    `checkpoint()` runs between images and may raise to cancel."""
    options = options or ReportOptions()
    if not params:
        raise ValueError("a report needs at least one explanation method")
    spool.mkdir(parents=True, exist_ok=True)
    entries: list[ImageEntry] = []
    total = len(paths)
    for i, path in enumerate(paths, start=1):
        if checkpoint is not None:
            checkpoint()
        if progress is not None:
            progress(i - 1, total, f"analysing {display_name(path)}")
        try:
            entries.append(build_entry(i, Path(path), clip, params, review_store, options, spool))
        except (KeyboardInterrupt, MemoryError):
            raise
        except Exception as exc:
            raise ReportFailed(f"{display_name(path)}: {type(exc).__name__}: {exc}".rstrip(": ")) from exc
    if progress is not None:
        progress(total, total, "analysis done")
    created = datetime.now(UTC)
    inputs = [{"index": e.index, "name": e.label, "sha256": e.sha256, "width": e.width, "height": e.height,
               "error": e.error} for e in entries]
    settings = {"deidentified": options.deidentify, "top_k": options.top_k, "colormap": options.colormap,
                "opacity": options.opacity, "max_side": options.max_side,
                "map_target": "the predicted class of each image"}
    manifest = provenance.collect(clip.card, clip.device, [p.to_dict() for p in params], inputs,
                                  settings=settings, now=created)
    cat = clip.catalogue
    return ReportContent(
        title=options.title, created=created.isoformat(timespec="seconds"), model_name=clip.card.display_name(),
        model_sha256=clip.card.weights_sha256, warnings=clip.card.warnings(),
        methods=[p.to_dict() for p in params], method_names=[METHOD_NAMES[p.method] for p in params],
        colormap=options.colormap, opacity=options.opacity, class_ids=list(cat.class_ids),
        class_names=[c.display_name for c in cat.classes], criterion_ids=[c.id for c in cat.criteria],
        entries=entries, provenance=manifest, deidentified=options.deidentify)
