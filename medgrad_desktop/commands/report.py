"""`medgrad report`: an annotated, de-identified report (PDF, HTML, CSV, PNG) of a folder of images,
with the review decisions made in the app, provenance and an audit-log entry. Ctrl-C cancels and
leaves nothing behind.

Images are explained a pass of `--batch-size` at a time. Under `torchrun --nproc_per_node N` the passes
are shared between the processes, rank 0 gathers their predictions and maps and alone writes the report,
the same report one process would write (see `commands/_distributed.py`)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from medgrad_desktop.commands._common import (
    add_batch_size_option,
    add_model_options,
    add_no_store_option,
    add_overlay_options,
    model_from_args,
)
from medgrad_desktop.core.method_params import METHODS, OPENING_METHOD
from medgrad_desktop.reports.outputs import DEFAULT_FORMATS, FORMATS

if TYPE_CHECKING:
    from medgrad_desktop.commands._distributed import World
    from medgrad_desktop.core.explain import AnalysisResult
    from medgrad_desktop.core.model import ClipModel
    from medgrad_desktop.reports.request import ReportRequest


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.description = "Research use only, not for diagnosis. De-identified by default."
    p.add_argument("folder", help="folder of images (its review decisions from the app are included)")
    p.add_argument("--out", required=True, help="output folder")
    add_model_options(p)
    p.add_argument(
        "--method",
        default=OPENING_METHOD,
        help=f"comma-separated: {', '.join(METHODS)}, or all (default: {OPENING_METHOD})",
    )
    p.add_argument(
        "--format",
        default=",".join(DEFAULT_FORMATS),
        help=f"comma-separated: {', '.join(FORMATS)} (default: {','.join(DEFAULT_FORMATS)})",
    )
    p.add_argument("--name", default="report", help="base name of the output files (default: report)")
    p.add_argument("--force", action="store_true", help="overwrite an existing report of the same name")
    p.add_argument(
        "--no-deidentify",
        dest="deidentify",
        action="store_false",
        help="show original file names and patient identifiers, and say so on the cover "
        "(default: pseudonyms IMG-0001, P-001/L-01/V-1 ...)",
    )
    p.add_argument(
        "--pseudonym-map",
        default=None,
        metavar="FILE",
        help="write the pseudonym -> file mapping (CSV) here; keep it outside the report folder",
    )
    p.add_argument(
        "--include-notes",
        action="store_true",
        help="include the reviewers' notes in a de-identified report, scrubbed of dates, phone and ID "
        "numbers, addresses, e-mail and header values (default: left out, as they may contain "
        "identifiers; a note may still identify a patient in words no scrubber recognises)",
    )
    p.add_argument(
        "--no-stability",
        dest="stability",
        action="store_false",
        help="leave out each map's stability figure (max-sensitivity under harmless noise: stable / "
        "unstable: do not read fine detail); measuring it costs about one more map per image and method",
    )
    p.add_argument("--recursive", action="store_true", help="include images in sub-folders")
    add_no_store_option(p, "do not use the project store: no review decisions, nothing recorded")
    p.add_argument("--top-k", type=int, default=5)
    add_overlay_options(p, "overlays'")
    add_batch_size_option(p, "explained per pass", "explain")
    p.set_defaults(func=run)


def parse_list(text: str, allowed: tuple[str, ...], what: str, all_word: str | None = None) -> list[str]:
    items = [t.strip().lower() for t in text.split(",") if t.strip()]
    if all_word and all_word in items:
        return list(allowed)
    bad = [t for t in items if t not in allowed]
    if bad or not items:
        raise ValueError(f"unknown {what} '{','.join(bad) or text}'; choose from {', '.join(allowed)}")
    return list(dict.fromkeys(items))


class _ConsoleProgress:
    """A one-line progress bar on stderr (tqdm), updated from the export's progress callback."""

    def __init__(self) -> None:
        from tqdm import tqdm

        self.bar = tqdm(total=0, unit="step", file=sys.stderr, dynamic_ncols=True, leave=False)

    def __call__(self, done: int, total: int, message: str) -> None:
        self.bar.total = total
        self.bar.n = done
        self.bar.set_description_str(message[:40])
        self.bar.refresh()

    def close(self) -> None:
        self.bar.close()


def plan_from_args(args: argparse.Namespace) -> ReportRequest | str:
    """The report the options ask for, or the message that says why there is none."""
    from medgrad_desktop.core.imageio import list_images
    from medgrad_desktop.core.method_params import default_params
    from medgrad_desktop.reports.outputs import ReportOptions
    from medgrad_desktop.reports.request import plan_report

    try:
        methods = parse_list(args.method, METHODS, "method", "all")
        formats = parse_list(args.format, FORMATS, "format")
    except ValueError as exc:
        return str(exc)
    folder = Path(args.folder)
    if not folder.is_dir():
        return f"{folder}: not a folder; pass the folder that holds the images"
    paths = list_images(folder, args.recursive)
    if not paths:
        return f"{folder}: no image files found (jpg, png, tif, bmp, webp ...)"
    options = ReportOptions(
        deidentify=args.deidentify,
        top_k=args.top_k,
        colormap=args.colormap,
        opacity=args.opacity,
        overlay_alpha=args.overlay_alpha,
        batch_size=args.batch_size,
        include_notes=args.include_notes,
        stability=args.stability,
    )
    try:
        return plan_report(
            paths,
            folder,
            [default_params(m) for m in methods],
            Path(args.out),
            options=options,
            formats=formats,
            basename=args.name,
            pseudonym_map=Path(args.pseudonym_map) if args.pseudonym_map else None,
            force=args.force,
        )
    except ValueError as exc:  # a bad patients.csv (SidecarError) or a request that must not run
        return str(exc)


def run(args: argparse.Namespace) -> int:
    from medgrad_desktop.commands import _distributed as distributed

    request = plan_from_args(args)
    if isinstance(request, str):
        print(f"error: {request}", file=sys.stderr)
        return 2
    clash = request.existing_outputs()
    if clash and not args.force:  # say so before loading a model
        print(
            f"error: already exists: {', '.join(map(str, clash))}; pass --force to overwrite or choose "
            "another --out/--name",
            file=sys.stderr,
        )
        return 3
    world = distributed.world_from_env()
    args.device = distributed.device_for(world, args.device)
    clip = model_from_args(args)
    distributed.start(world, clip.device)
    if not world.distributed:
        return _export(request, clip, args)
    code = _distributed_export(world, request, clip, args)
    distributed.stop(world)
    return code


def _distributed_export(
    world: World, request: ReportRequest, clip: ClipModel, args: argparse.Namespace
) -> int:
    """Each rank explains its passes; rank 0 writes the report from all of them."""
    import dataclasses

    from medgrad_desktop.commands import _distributed as distributed
    from medgrad_desktop.core.batching import images_per_pass
    from medgrad_desktop.reports.builder import analyse_report_images, report_chunks
    from medgrad_desktop.reports.outputs import ReportFailed

    batch = distributed.broadcast_from_root(
        images_per_pass("explain", clip, request.options.batch_size), world
    )
    request = dataclasses.replace(request, options=dataclasses.replace(request.options, batch_size=batch))
    chunks = distributed.my_passes(report_chunks(len(request.paths), batch), world)
    try:
        mine: dict[int, AnalysisResult] | str = analyse_report_images(
            list(request.paths), clip, list(request.params), request.options, chunks
        )
    except (ReportFailed, ValueError, OSError) as exc:
        mine = str(exc)
    gathered = distributed.gather_to_root(mine, world)
    code = 0
    if gathered is not None:
        failed = [g for g in gathered if isinstance(g, str)]
        if failed:
            print(f"error: {failed[0]}; no report was written", file=sys.stderr)
            code = 1
        else:
            merged = {i: r for part in gathered for i, r in part.items()}
            code = _export(request, clip, args, merged)
    return distributed.broadcast_from_root(code, world)


def _export(
    request: ReportRequest,
    clip: ClipModel,
    args: argparse.Namespace,
    analyses: dict[int, AnalysisResult] | None = None,
) -> int:
    from medgrad_desktop.reports.export import export_report
    from medgrad_desktop.reports.notes import left_out_text
    from medgrad_desktop.reports.outputs import ReportExistsError, ReportFailed
    from medgrad_desktop.review import ReviewStore
    from medgrad_desktop.store.memo import StoreMemo

    memo = StoreMemo.open(args.store)
    if memo.notice:
        print(f"warning: {memo.notice}", file=sys.stderr)
    reviews = ReviewStore(store=memo.store) if memo.store is not None else None
    bar = _ConsoleProgress()
    try:
        result = export_report(
            request, clip, reviews=reviews, progress=bar, analyses=analyses, recorder=memo.record_analysis
        )
    except KeyboardInterrupt:
        bar.close()
        print("cancelled: no report was written", file=sys.stderr)
        return 130
    except ReportExistsError as exc:
        bar.close()
        print(f"error: {exc}", file=sys.stderr)
        return 3
    except (ReportFailed, ValueError, OSError) as exc:
        bar.close()
        print(f"error: {exc}; no report was written", file=sys.stderr)
        return 1
    bar.close()
    for err in result.errors:
        print(f"ERROR  {err} (listed in the report)", file=sys.stderr)
    for p in result.outputs:
        print(f"wrote {p}")
    if result.content.notes_left_out:
        print(
            f"note: {left_out_text(result.content.notes_left_out)} (--include-notes includes them, scrubbed)"
        )
    if result.pseudonym_map:
        print(f"wrote pseudonym map {result.pseudonym_map} (keep it private; it re-identifies the report)")
    return 0 if len(result.errors) < len(request.paths) else 1
