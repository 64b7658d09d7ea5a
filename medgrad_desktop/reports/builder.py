"""Build a `ReportContent` from images, a model, method parameters and the review store.

One explanation pass (one forward) per batch of images gives the predictions and, because every class is
a target, the map of whichever class turns out to be predicted. A file that cannot be read becomes an error row
and the report goes on; any other failure stops the report with `ReportFailed` naming the image, so a
caller never writes a report that silently lacks pages.

Unless the options turn it off, each shown map's stability figure follows from one more pass per image
(`core.explain.stability`, the measure the app uses): its noisy copy explained for the predicted class
by every method, about one more map per image and method.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from pathlib import Path

from medgrad_desktop import provenance
from medgrad_desktop.atomic import make_dir, write_new
from medgrad_desktop.core.batching import images_per_pass
from medgrad_desktop.core.explain import METHOD_NAMES, AnalysisResult, MethodParams, analyze_batch
from medgrad_desktop.core.explain.stability import measure_stability
from medgrad_desktop.core.fallback import run_with_fallback
from medgrad_desktop.core.imageio import ImageLoadError, LoadedImage, display_name, load_image
from medgrad_desktop.core.map_evidence import EMPTY_MAP_RULE
from medgrad_desktop.core.model import ClipModel
from medgrad_desktop.core.render import overlay_alpha
from medgrad_desktop.core.stability import STABILITY_RULE
from medgrad_desktop.reports.content import (
    ClassProbability,
    CriterionRow,
    ImageEntry,
    OverlayPanel,
    ReportContent,
    ReportImage,
    ReviewInfo,
)
from medgrad_desktop.reports.deidentify import code_reviewers, encode_png, pseudonym, scrub
from medgrad_desktop.reports.figures import downscale, overlay
from medgrad_desktop.reports.notes import note_for_report, notes_rule_text
from medgrad_desktop.reports.outputs import ReportFailed, ReportOptions

log = logging.getLogger(__name__)
Progress = Callable[[int, int, str], None]  # done, total, what is being done (may name a file)
Checkpoint = Callable[[], None]  # raises to cancel
Recorder = Callable[[LoadedImage, AnalysisResult], None]  # e.g. into the project store


def _review_info(
    review_store, sha: str, clip: ClipModel, predicted_id: str, options: ReportOptions
) -> ReviewInfo:
    """The decision on one image; its note as the report's privacy rule allows (`notes.note_for_report`)
    and the reviewer's name (coded later, in a de-identified report, by `code_reviewers`)."""
    rec = review_store.get(sha) if review_store is not None else None
    if rec is None:
        return ReviewInfo("pending")
    names = {c.id: c.display_name for c in clip.catalogue.classes}
    final = rec.final_class
    if rec.decision == "accepted" and not final:
        final = rec.predicted_class or predicted_id
    seen = rec.predicted_class if rec.predicted_class and rec.predicted_class != predicted_id else None
    note, left_out = note_for_report(
        rec.note or "", options.deidentify, options.include_notes, _identifying(options)
    )
    return ReviewInfo(
        decision=rec.decision,
        final_class_id=final,
        final_class=names.get(final, final) if final else None,
        note=note,
        updated=rec.updated,
        reviewed_prediction=names.get(seen, seen) if seen else None,
        reviewer=rec.reviewer,
        note_left_out=left_out,
    )


def _spool(rgb, spool: Path, name: str) -> ReportImage:
    path = spool / name  # scratch inside the export's staging folder, removed after it: no fsync needed
    write_new(path, encode_png(rgb, level=1), private=True)  # the patient's picture: 0600 from the start
    return ReportImage(path, int(rgb.shape[1]), int(rgb.shape[0]))


def _where(path: Path, options: ReportOptions) -> dict:
    """The image's patient / lesion / visit labels, when the report is grouped."""
    group = (options.groups or {}).get(Path(path))
    return {"patient": group.patient, "lesion": group.lesion, "visit": group.visit} if group else {}


def _identifying(options: ReportOptions) -> frozenset[str]:
    return options.identifying if options.deidentify else frozenset()


def _load(index: int, path: Path, options: ReportOptions) -> LoadedImage | ImageEntry:
    """The decoded image, or the error row that stands for it in the report."""
    label = pseudonym(index) if options.deidentify else display_name(path)
    try:
        return load_image(path)
    except ImageLoadError as exc:
        cause = exc.cause
        if options.deidentify:  # a decoder's message may quote the path: never let it into a report
            for ident in sorted(
                {str(path.resolve()), str(path), path.name, path.stem}, key=len, reverse=True
            ):
                cause = cause.replace(ident, label)
        return ImageEntry(
            index=index,
            label=label,
            sha256=None,
            error=scrub(cause, _identifying(options)),
            **_where(path, options),
        )


def _failed(path: Path, exc: Exception, step: str = "") -> ReportFailed:
    """The `ReportFailed` that stops a report: the image's name, the step where it is not the analysis
    itself, and the cause."""
    where = f"{display_name(path)}: {step}" if step else display_name(path)
    return ReportFailed(f"{where}: {type(exc).__name__}: {exc}".rstrip(": "))


def _analyse(
    clip: ClipModel, images: list[LoadedImage], params: list[MethodParams], labels: list[str]
) -> list[AnalysisResult]:
    """One pass over `images` (a GPU out of memory redoes the pass on the CPU). When the pass fails,
    the images are redone one at a time so `ReportFailed` names the image that fails."""
    targets = clip.catalogue.class_targets()

    def one_pass(imgs: list[LoadedImage], what: str) -> list[AnalysisResult]:
        return run_with_fallback(
            clip,
            lambda m: analyze_batch(m, [im.rgb for im in imgs], targets, params),
            on_fallback=log.warning,
            what=what,
        )

    try:
        return one_pass(images, ", ".join(labels))
    except (KeyboardInterrupt, MemoryError):
        raise
    except Exception as exc:
        if len(images) == 1:
            raise _failed(images[0].path, exc) from exc
    return [_analyse(clip, [im], params, [label])[0] for im, label in zip(images, labels, strict=True)]


def keep_predicted_maps(result: AnalysisResult) -> AnalysisResult:
    """Only the maps a report shows (each method's map of the predicted class): what ranks send."""
    pid = result.prediction.predicted_id
    return AnalysisResult(
        result.prediction,
        {k: h for k, h in result.maps.items() if k[1] == pid},
        result.image_features,
        {k: v for k, v in result.stability.items() if k[1] == pid},
    )


def with_stability(
    clip: ClipModel, img: LoadedImage, result: AnalysisResult, params: list[MethodParams], label: str
) -> AnalysisResult:
    """`result` with the stability figure of each map the report shows (`core.explain.stability`, one
    pass over the noisy copy for the predicted class; a GPU out of memory redoes it on the CPU). An
    empty map is not drawn and has no figure (None), as in the app. A failure is `ReportFailed`
    naming the image."""
    pid = result.prediction.predicted_id
    maps = [result.get(p.method, pid) for p in params]
    drawn = [i for i, h in enumerate(maps) if not h.empty]
    figures: dict[tuple[str, str], float | None] = {(h.method, h.target.key): None for h in maps}
    if drawn:
        try:
            values = run_with_fallback(
                clip,
                lambda m: measure_stability(
                    m,
                    img.rgb,
                    maps[0].target,
                    [params[i] for i in drawn],
                    [maps[i].normalized for i in drawn],
                ),
                on_fallback=log.warning,
                what=f"{label} (stability)",
            )
        except (KeyboardInterrupt, MemoryError):
            raise
        except Exception as exc:
            raise _failed(img.path, exc, "stability") from exc
        figures.update({(maps[i].method, maps[i].target.key): v for i, v in zip(drawn, values, strict=True)})
    return dataclasses.replace(result, stability=figures)


def report_chunks(n_paths: int, batch_size: int) -> list[list[int]]:
    """1-based report indexes, `batch_size` consecutive ones per pass. A pass is the same images whether
    one process analyses every pass or several processes share them, so both give the same numbers."""
    b = max(1, batch_size)
    return [list(range(i + 1, min(i + b, n_paths) + 1)) for i in range(0, n_paths, b)]


def analyse_chunk(
    indexes: list[int], paths: list[Path], clip: ClipModel, params: list[MethodParams], options: ReportOptions
) -> tuple[dict[int, LoadedImage | ImageEntry], dict[int, AnalysisResult]]:
    """Decode the images of one pass and explain the readable ones together (then, unless the options
    turn it off, each image's stability pass)."""
    loaded = {i: _load(i, Path(paths[i - 1]), options) for i in indexes}
    ok = [i for i in indexes if isinstance(loaded[i], LoadedImage)]
    labels = [pseudonym(i) if options.deidentify else display_name(Path(paths[i - 1])) for i in ok]
    results = _analyse(clip, [loaded[i] for i in ok], params, labels) if ok else []
    kept = {i: keep_predicted_maps(r) for i, r in zip(ok, results, strict=True)}
    if options.stability:
        for i, label in zip(ok, labels, strict=True):
            kept[i] = with_stability(clip, loaded[i], kept[i], params, label)
    return loaded, kept


def analyse_report_images(
    paths: list[Path],
    clip: ClipModel,
    params: list[MethodParams],
    options: ReportOptions,
    chunks: list[list[int]],
) -> dict[int, AnalysisResult]:
    """Predictions and shown maps for the passes in `chunks` only (one process's share of a report)."""
    out: dict[int, AnalysisResult] = {}
    for idx in chunks:
        out.update(analyse_chunk(idx, paths, clip, params, options)[1])
    return out


def build_entry(
    index: int,
    label: str,
    img: LoadedImage,
    result: AnalysisResult,
    clip: ClipModel,
    params: list[MethodParams],
    review_store,
    options: ReportOptions,
    spool: Path,
) -> ImageEntry:
    pred = result.prediction
    small = downscale(img.rgb, options.max_side)
    stem = f"{index:05d}"
    entry = ImageEntry(
        index=index,
        label=label,
        sha256=img.sha256,
        width=img.size[0],
        height=img.size[1],
        predicted_id=pred.predicted_id,
        predicted_name=pred.predicted_name,
        confidence=pred.confidence,
        probabilities=dict(zip(pred.class_ids, pred.probabilities, strict=True)),
        top_k=[ClassProbability(i, n, p) for i, n, p in pred.top_k(options.top_k)],
        criteria=[
            CriterionRow(c.criterion_id, c.display_name, c.option_id, c.phrase, c.probability, c.points)
            for c in pred.criteria
        ],
        seven_point_score=pred.seven_point_score if pred.criteria else None,
        seven_point_threshold=pred.seven_point_threshold if pred.criteria else None,
        review=_review_info(review_store, img.sha256, clip, pred.predicted_id, options),
        original=_spool(small, spool, f"{stem}_original.png"),
        ood=pred.ood,
        **_where(img.path, options),
    )
    for p in params:
        h = result.get(p.method, pred.predicted_id)
        picture = None  # an empty map is not drawn (`core.map_evidence`): the writers say so instead
        if not h.empty:
            over = overlay(small, h.normalized, options.opacity, options.colormap, options.overlay_alpha)
            picture = _spool(over, spool, f"{stem}_{p.method}.png")
        measured = options.stability and (h.method, h.target.key) in result.stability
        figure = result.stability.get((h.method, h.target.key)) if measured else None
        entry.overlays.append(
            OverlayPanel(
                method=p.method,
                method_name=METHOD_NAMES[p.method],
                target_label=h.target.label,
                image=picture,
                score=h.score,
                raw_max=float(h.raw.max()),
                empty_reason=h.empty_reason,
                stability=figure,
                stability_words=STABILITY_RULE.words(figure) if measured else "",
                stability_text=STABILITY_RULE.text(figure) if measured else "",
            )
        )
    return entry


def build_report(
    paths: list[Path],
    clip: ClipModel,
    params: list[MethodParams],
    review_store,
    spool: Path,
    options: ReportOptions | None = None,
    *,
    progress: Progress | None = None,
    checkpoint: Checkpoint | None = None,
    analyses: Mapping[int, AnalysisResult] | None = None,
    recorder: Recorder | None = None,
) -> ReportContent:
    """`review_store`: anything with `.get(sha256) -> ReviewRecord | None` (or None: all pending).
    `checkpoint()` runs between passes and may raise to cancel. `analyses` (by 1-based index, from
    `analyse_report_images`, e.g. gathered from several processes) replaces the analysis here."""
    options = options or ReportOptions()
    if not params:
        raise ValueError("a report needs at least one explanation method")
    make_dir(spool, private=True)
    entries: list[ImageEntry] = []
    total = len(paths)
    for idx in report_chunks(total, images_per_pass("explain", clip, options.batch_size)):
        if checkpoint is not None:
            checkpoint()
        if progress is not None:
            more = f" (+{len(idx) - 1})" if len(idx) > 1 else ""
            progress(idx[0] - 1, total, f"analysing {display_name(Path(paths[idx[0] - 1]))}{more}")
        if analyses is None:
            loaded, results = analyse_chunk(idx, paths, clip, params, options)
        else:
            loaded, results = {i: _load(i, Path(paths[i - 1]), options) for i in idx}, analyses
        for i in idx:
            item = loaded[i]
            if isinstance(item, ImageEntry):
                entries.append(item)
                continue
            label = pseudonym(i) if options.deidentify else display_name(Path(paths[i - 1]))
            result = results[i]
            if options.stability and not result.stability:  # analysed elsewhere without it
                result = with_stability(clip, item, result, params, label)
            try:
                if recorder is not None:
                    recorder(item, result)
                entries.append(
                    build_entry(i, label, item, result, clip, params, review_store, options, spool)
                )
            except (KeyboardInterrupt, MemoryError):
                raise
            except Exception as exc:
                raise _failed(Path(paths[i - 1]), exc) from exc
    if progress is not None:
        progress(total, total, "analysis done")
    reviewer_key = code_reviewers(entries) if options.deidentify else {}
    left_out = sum(e.review.note_left_out for e in entries)
    notes = notes_rule_text(options.deidentify, options.include_notes, left_out)
    created = datetime.now(UTC)
    inputs = [
        {
            "index": e.index,
            "name": e.label,
            "sha256": e.sha256,
            "width": e.width,
            "height": e.height,
            "error": e.error,
            **({"patient": e.patient, "lesion": e.lesion, "visit": e.visit} if e.patient else {}),
        }
        for e in entries
    ]
    settings = {
        "deidentified": options.deidentify,
        "top_k": options.top_k,
        "colormap": options.colormap,
        "opacity": options.opacity,
        "overlay_alpha": overlay_alpha(options.overlay_alpha).to_dict(),
        "empty_map_rule": EMPTY_MAP_RULE.to_dict(),
        "max_side": options.max_side,
        "map_target": "the predicted class of each image",
        **({"stability_rule": STABILITY_RULE.to_dict()} if options.stability else {}),
        "notes": notes,
        "reviewers": "coded R-01, R-02... (the names are in the pseudonym key)"
        if options.deidentify
        else "named",
    }
    manifest = provenance.collect(
        clip.card, clip.device, [p.to_dict() for p in params], inputs, settings=settings, now=created
    )
    cat = clip.catalogue
    return ReportContent(
        title=options.title,
        created=created.isoformat(timespec="seconds"),
        model_name=clip.card.display_name(),
        model_sha256=clip.card.weights_sha256,
        warnings=[*clip.card.warnings(), *filter(None, [clip.card.text_tower_note])],
        methods=[p.to_dict() for p in params],
        method_names=[METHOD_NAMES[p.method] for p in params],
        colormap=options.colormap,
        opacity=options.opacity,
        overlay_alpha=options.overlay_alpha,
        class_ids=list(cat.class_ids),
        class_names=[c.display_name for c in cat.classes],
        criterion_ids=[c.id for c in cat.criteria],
        entries=entries,
        provenance=manifest,
        deidentified=options.deidentify,
        grouped=any(e.patient for e in entries),
        notes=notes,
        notes_left_out=left_out,
        reviewer_key=reviewer_key,
        ood_check=clip.card.ood_rule,
        ood_statistics=clip.card.ood_statistics,
        ood_checked=clip.card.ood_checked,
        stability_rule=STABILITY_RULE.parameters_text() if options.stability else "",
    )
