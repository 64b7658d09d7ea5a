"""Export a report to disk: all-or-nothing, never overwriting by accident, and audited.

Everything is written into a hidden staging folder inside the output folder; only when every format
is complete are the files moved to their final names (an `os.replace` each, on the same disk). A
failure or a cancel at any point removes the staging folder, so no partial report is ever left, and
the error names the image it happened on. Existing outputs are refused unless `force` is given.
"""

from __future__ import annotations

import errno
import json
import shutil
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import medgrad_desktop.reports.csv_writer as csv_writer  # by module: tests replace a writer to inject faults
import medgrad_desktop.reports.html_writer as html_writer
import medgrad_desktop.reports.png_writer as png_writer
from medgrad_desktop.atomic import PublishClashError, publish, write_text_atomic
from medgrad_desktop.audit import log_event
from medgrad_desktop.core.explain import AnalysisResult, MethodParams
from medgrad_desktop.core.imageio import display_name
from medgrad_desktop.core.model import ClipModel
from medgrad_desktop.reports.builder import Checkpoint, Recorder, build_report
from medgrad_desktop.reports.content import ReportContent
from medgrad_desktop.reports.deidentify import write_pseudonym_map
from medgrad_desktop.reports.outputs import (
    DEFAULT_FORMATS,
    ReportExistsError,
    ReportFailed,
    ReportOptions,
    existing_outputs,
    output_paths,
)

Progress = Callable[[int, int, str], None]


@dataclass
class ExportResult:
    outputs: list[Path]
    content: ReportContent
    errors: list[str] = field(default_factory=list)  # "IMG-0003 (file.jpg): cause" per unreadable image
    pseudonym_map: Path | None = None


def _is_inside(path: Path, folder: Path) -> bool:
    try:
        path.resolve().relative_to(folder.resolve())
        return True
    except ValueError:
        return False


def export_report(
    paths: list[Path],
    clip: ClipModel,
    params: list[MethodParams],
    review_store,
    out_dir: Path,
    *,
    formats=DEFAULT_FORMATS,
    basename: str = "report",
    force: bool = False,
    options: ReportOptions | None = None,
    pseudonym_map: Path | None = None,
    progress: Progress | None = None,
    checkpoint: Checkpoint | None = None,
    analyses: Mapping[int, AnalysisResult] | None = None,
    recorder: Recorder | None = None,
) -> ExportResult:
    """Build the report and write every requested format, all or nothing. `analyses`: precomputed
    predictions and maps by 1-based index (see `build_report`), e.g. gathered from several processes;
    `recorder` sees each image's analysis (the project store keeps it).

    Raises `ReportExistsError` (before any work) when an output exists and `force` is False,
    `ReportFailed` naming the image when one failed unexpectedly, or whatever `checkpoint` raises to
    cancel. In each case nothing is left in `out_dir`."""
    options = options or ReportOptions()
    formats = tuple(dict.fromkeys(formats))
    if not paths:
        raise ValueError("no images to report")
    if not formats:
        raise ValueError("no report format chosen")
    out_dir = Path(out_dir)
    finals = output_paths(out_dir, basename, formats)
    if pseudonym_map is not None:
        pseudonym_map = Path(pseudonym_map)
        if not options.deidentify:
            raise ValueError("--pseudonym-map only applies to a de-identified report")
        if _is_inside(pseudonym_map, out_dir):
            raise ValueError(
                f"{pseudonym_map}: keep the pseudonym map outside the report folder "
                f"({out_dir}) so the key never travels with the report"
            )
    clash = existing_outputs(out_dir, basename, formats, pseudonym_map)
    if clash and not force:
        raise ReportExistsError(
            "already exists: "
            + ", ".join(str(p) for p in clash)
            + "; choose another folder or name, or allow overwriting (--force)"
        )
    out_dir.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=out_dir, prefix=f".{basename}.", suffix=".partial"))
    total = len(paths) + len(formats)
    model_sha = clip.card.weights_sha256
    try:

        def analysis_progress(done: int, _total: int, msg: str) -> None:
            if progress is not None:
                progress(done, total, msg)

        content = build_report(
            list(paths),
            clip,
            params,
            review_store,
            staging / "spool",
            options,
            progress=analysis_progress,
            checkpoint=checkpoint,
            analyses=analyses,
            recorder=recorder,
        )
        names = {e.label: display_name(p) for e, p in zip(content.entries, paths, strict=True)}
        current = {"label": None}

        def tick(label: str) -> None:
            current["label"] = label
            if checkpoint is not None:
                checkpoint()

        staged: list[tuple[Path, Path]] = []
        for i, fmt in enumerate(formats):
            if progress is not None:
                progress(len(paths) + i, total, f"writing {fmt.upper()}")
            current["label"] = None
            try:
                staged += _write_format(fmt, content, staging, finals[fmt], tick)
            except Exception as exc:
                if "Cancel" in type(exc).__name__:
                    raise
                where = names.get(current["label"], "the summary pages")
                raise ReportFailed(
                    f"{where}: writing the {fmt.upper()} failed ({type(exc).__name__}: {exc})"
                ) from exc
        if checkpoint is not None:
            checkpoint()
        map_path = None
        if pseudonym_map is not None:
            map_path = write_pseudonym_map(
                pseudonym_map,
                [
                    (e.label, e.sha256, str(Path(p).resolve()))
                    for e, p in zip(content.entries, paths, strict=True)
                ],
            )
        try:
            publish(staged, force)
        except PublishClashError as exc:
            if map_path is not None:
                map_path.unlink(missing_ok=True)
            raise ReportExistsError(str(exc)) from None
        except BaseException:
            if map_path is not None:
                map_path.unlink(missing_ok=True)
            raise
    except BaseException as exc:
        cancelled = not isinstance(exc, Exception) or "Cancel" in type(exc).__name__
        log_event(
            "export_cancelled" if cancelled else "export_failed",
            model_sha256=model_sha,
            out_dir=str(out_dir),
            error=f"{type(exc).__name__}: {exc}",
        )
        raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    outputs = [dst for _, dst in staged]
    for e in content.entries:
        log_event(
            "export",
            model_sha256=model_sha,
            file_sha256=e.sha256,
            image=e.label,
            formats=list(formats),
            report=str(out_dir / basename),
            error=e.error,
        )
    if progress is not None:
        progress(total, total, "done")
    # for the person at the screen (never written into the report): the real file name too
    errors = [
        f"{e.label}{f' ({names[e.label]})' if names[e.label] != e.label else ''}: {e.error}"
        for e in content.failed_entries
    ]
    return ExportResult(outputs=outputs, content=content, errors=errors, pseudonym_map=map_path)


def check_pdf_complete(path: Path) -> None:
    """QPdfWriter reports no write error: a full disk or a file-size limit leaves a PDF cut short that
    looks written. A complete PDF ends with its `%%EOF` marker; without it the export must fail."""
    size = path.stat().st_size
    with open(path, "rb") as f:
        f.seek(max(0, size - 1024))
        tail = f.read()
    if b"%%EOF" not in tail:
        raise OSError(
            errno.ENOSPC,
            f"{path.name} is not a complete PDF: the PDF was cut short at {size} bytes "
            "while writing (disk full or a file-size limit?); free some space and export again",
        )


def _write_format(
    fmt: str, content: ReportContent, staging: Path, finals: list[Path], tick
) -> list[tuple[Path, Path]]:
    """Write one format into the staging folder; return (staged, final) pairs."""
    staged = [(staging / p.name, p) for p in finals]
    main = staged[0][0]
    if fmt == "pdf":
        # the PDF writer loads Qt when it draws; a CSV/HTML-only export never imports it
        from medgrad_desktop.reports.pdf_writer import write_pdf

        write_pdf(content, main, tick)
        check_pdf_complete(main)
    elif fmt == "html":
        html_writer.write_html(content, main, tick)
    elif fmt == "csv":
        csv_writer.write_csv(content, main, tick)
    elif fmt == "png":
        png_writer.write_pngs(content, main, tick)
    for src, _ in staged[1:]:  # the manifest beside the HTML / CSV
        if not src.exists():
            write_text_atomic(src, json.dumps(content.provenance, indent=1, ensure_ascii=False))
    return staged
