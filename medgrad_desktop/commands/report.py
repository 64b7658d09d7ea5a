"""`medgrad report`: an annotated, de-identified report (PDF, HTML, CSV, PNG) of a folder of images,
with the review decisions made in the app, provenance and an audit-log entry. Ctrl-C cancels and
leaves nothing behind.

Images are explained a pass of `--batch-size` at a time. Under `torchrun --nproc_per_node N` the passes
are shared between the processes, rank 0 gathers their predictions and maps and alone writes the report,
the same report one process would write (see `commands/_distributed.py`)."""

from __future__ import annotations

import argparse
import dataclasses
import sys
from pathlib import Path

from tqdm import tqdm

from medgrad_desktop.commands import _distributed as distributed
from medgrad_desktop.commands._common import add_model_options, model_from_args
from medgrad_desktop.core.explain import METHODS, AnalysisResult, MethodParams, default_params
from medgrad_desktop.core.imageio import list_images
from medgrad_desktop.core.method_params import OPENING_METHOD
from medgrad_desktop.core.model import ClipModel
from medgrad_desktop.core.render import COLORMAPS, DEFAULT_COLORMAP
from medgrad_desktop.data.patients import SidecarError, group_images, identifying_values, labels
from medgrad_desktop.reports import (
    DEFAULT_FORMATS,
    FORMATS,
    ReportExistsError,
    ReportFailed,
    ReportOptions,
    existing_outputs,
)
from medgrad_desktop.reports.builder import analyse_report_images, batch_size_for, report_chunks
from medgrad_desktop.reports.export import export_report
from medgrad_desktop.review import ReviewStore
from medgrad_desktop.store.memo import StoreMemo


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "report",
        help="annotated report of a folder (PDF, HTML, CSV, PNG)",
        description="Research use only, not for diagnosis. De-identified by default.",
    )
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
    p.add_argument("--recursive", action="store_true", help="include images in sub-folders")
    p.add_argument(
        "--no-store",
        dest="store",
        action="store_false",
        help="do not use the project store: no review decisions, nothing recorded",
    )
    p.add_argument("--top-k", type=int, default=5)
    p.add_argument("--colormap", default=DEFAULT_COLORMAP, choices=sorted(COLORMAPS))
    p.add_argument("--opacity", type=float, default=0.5)
    p.add_argument(
        "--batch-size",
        type=int,
        default=None,
        help="images explained per pass (default: what a quarter of the free memory holds, at "
        "most 16 on a CPU and 64 on a GPU)",
    )
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
        self.bar = tqdm(total=0, unit="step", file=sys.stderr, dynamic_ncols=True, leave=False)

    def __call__(self, done: int, total: int, message: str) -> None:
        self.bar.total = total
        self.bar.n = done
        self.bar.set_description_str(message[:40])
        self.bar.refresh()

    def close(self) -> None:
        self.bar.close()


def run(args: argparse.Namespace) -> int:
    try:
        methods = parse_list(args.method, METHODS, "method", "all")
        formats = parse_list(args.format, FORMATS, "format")
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    folder = Path(args.folder)
    if not folder.is_dir():
        print(f"error: {folder}: not a folder; pass the folder that holds the images", file=sys.stderr)
        return 2
    out = Path(args.out)
    pmap = Path(args.pseudonym_map) if args.pseudonym_map else None
    clash = existing_outputs(out, args.name, formats, pmap)
    if clash and not args.force:  # say so before loading a model
        print(
            f"error: already exists: {', '.join(map(str, clash))}; pass --force to overwrite or choose "
            "another --out/--name",
            file=sys.stderr,
        )
        return 3
    paths = list_images(folder, args.recursive)
    if not paths:
        print(f"error: {folder}: no image files found (jpg, png, tif, bmp, webp ...)", file=sys.stderr)
        return 2
    try:  # patients, lesions and visits (DICOM tags, PATIENT/LESION/VISIT folders or patients.csv)
        groups = labels(group_images(paths, folder), pseudonymize=args.deidentify)
    except SidecarError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    paths.sort(
        key=lambda p: groups[p].order if p in groups else (1 << 30, 0, 0)
    )  # stable: folder order within
    world = distributed.world_from_env()
    args.device = distributed.device_for(world, args.device)
    clip = model_from_args(args)
    distributed.start(world, clip.device)
    options = ReportOptions(
        deidentify=args.deidentify,
        top_k=args.top_k,
        colormap=args.colormap,
        opacity=args.opacity,
        batch_size=args.batch_size,
        groups=groups or None,
        identifying=frozenset(identifying_values(paths)) if args.deidentify else frozenset(),
    )
    params = [default_params(m) for m in methods]
    if not world.distributed:
        return _export(paths, clip, params, folder, out, formats, options, pmap, args)
    code = _distributed_export(world, paths, clip, params, folder, out, formats, options, pmap, args)
    distributed.stop(world)
    return code


def _distributed_export(
    world: distributed.World,
    paths: list[Path],
    clip: ClipModel,
    params: list[MethodParams],
    folder: Path,
    out: Path,
    formats: list[str],
    options: ReportOptions,
    pmap: Path | None,
    args: argparse.Namespace,
) -> int:
    """Each rank explains its passes; rank 0 writes the report from all of them."""
    batch = distributed.broadcast_from_root(batch_size_for(clip, options), world)
    options = dataclasses.replace(options, batch_size=batch)
    chunks = distributed.my_passes(report_chunks(len(paths), batch), world)
    try:
        mine: dict[int, AnalysisResult] | str = analyse_report_images(paths, clip, params, options, chunks)
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
            code = _export(paths, clip, params, folder, out, formats, options, pmap, args, merged)
    return distributed.broadcast_from_root(code, world)


def _export(
    paths: list[Path],
    clip: ClipModel,
    params: list[MethodParams],
    folder: Path,
    out: Path,
    formats: list[str],
    options: ReportOptions,
    pmap: Path | None,
    args: argparse.Namespace,
    analyses: dict[int, AnalysisResult] | None = None,
) -> int:
    memo = StoreMemo.open(args.store)
    if memo.notice:
        print(f"warning: {memo.notice}", file=sys.stderr)
    reviews = ReviewStore(folder, store=memo.store) if memo.store is not None else None
    bar = _ConsoleProgress()
    try:
        result = export_report(
            paths,
            clip,
            params,
            reviews,
            out,
            formats=formats,
            basename=args.name,
            force=args.force,
            options=options,
            pseudonym_map=pmap,
            progress=bar,
            analyses=analyses,
            recorder=memo.record_analysis,
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
    if result.pseudonym_map:
        print(f"wrote pseudonym map {result.pseudonym_map} (keep it private; it re-identifies the report)")
    return 0 if len(result.errors) < len(paths) else 1
