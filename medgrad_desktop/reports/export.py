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
from medgrad_desktop.atomic import PublishClashError, make_dir, publish, write_new, write_text_atomic
from medgrad_desktop.audit import log_event
from medgrad_desktop.core.cancel import Cancelled
from medgrad_desktop.core.explain import AnalysisResult
from medgrad_desktop.core.imageio import display_name
from medgrad_desktop.core.model import ClipModel
from medgrad_desktop.reports.builder import Checkpoint, Recorder, build_report
from medgrad_desktop.reports.content import ReportContent
from medgrad_desktop.reports.deidentify import write_pseudonym_map
from medgrad_desktop.reports.outputs import ReportExistsError, ReportFailed, output_paths
from medgrad_desktop.reports.request import ReportRequest

Progress = Callable[[int, int, str], None]


@dataclass
class ExportResult:
    outputs: list[Path]
    content: ReportContent
    errors: list[str] = field(default_factory=list)  # "IMG-0003 (file.jpg): cause" per unreadable image
    pseudonym_map: Path | None = None


def export_report(
    request: ReportRequest,
    clip: ClipModel,
    *,
    reviews=None,
    progress: Progress | None = None,
    checkpoint: Checkpoint | None = None,
    analyses: Mapping[int, AnalysisResult] | None = None,
    recorder: Recorder | None = None,
) -> ExportResult:
    """Build the report `request` asks for and write every format, all or nothing. `reviews`: the
    review store (anything with `.get(sha256)`, or None: all pending); `progress(done, total, what)`;
    `checkpoint()` runs between images and pages and raises `Cancelled` to stop; `analyses`:
    precomputed predictions and maps by 1-based index (see `build_report`), e.g. gathered from several
    processes; `recorder` sees each image's analysis (the project store keeps it).

    Raises `ReportExistsError` (before any work) when an output exists and `request.force` is False,
    `ReportFailed` naming the image when one failed unexpectedly, or `Cancelled`. In each case nothing
    is left in the output folder."""
    _refuse_existing(request)
    # a report that names patients' files is its user's alone: a folder made for it is 0700, its files 0600
    make_dir(request.out_dir, private=not request.options.deidentify)
    staging = Path(tempfile.mkdtemp(dir=request.out_dir, prefix=f".{request.basename}.", suffix=".partial"))
    try:
        content = build_report(
            list(request.paths),
            clip,
            list(request.params),
            reviews,
            staging / "spool",
            request.options,
            progress=_analysis_progress(request, progress),
            checkpoint=checkpoint,
            analyses=analyses,
            recorder=recorder,
        )
        staged = _write_formats(request, content, staging, progress, checkpoint)
        if checkpoint is not None:
            checkpoint()
        map_path = _publish(request, content, staged)
    except BaseException as exc:
        _log_stopped(request, clip, exc)
        raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    _log_exported(request, clip, content)
    if progress is not None:
        progress(request.steps, request.steps, "done")
    return ExportResult(
        outputs=[dst for _, dst in staged],
        content=content,
        errors=_error_lines(request, content),
        pseudonym_map=map_path,
    )


def _refuse_existing(request: ReportRequest) -> None:
    clash = request.existing_outputs()
    if clash and not request.force:
        raise ReportExistsError(
            "already exists: "
            + ", ".join(str(p) for p in clash)
            + "; choose another folder or name, or allow overwriting (--force)"
        )


def _analysis_progress(request: ReportRequest, progress: Progress | None) -> Progress:
    """The builder counts images only; the export's total also counts the formats written after."""

    def relay(done: int, _total: int, msg: str) -> None:
        if progress is not None:
            progress(done, request.steps, msg)

    return relay


def _file_names(request: ReportRequest, content: ReportContent) -> dict[str, str]:
    """Report label -> the file's own name (for messages to the person at the screen only)."""
    return {e.label: display_name(p) for e, p in zip(content.entries, request.paths, strict=True)}


def _write_formats(
    request: ReportRequest,
    content: ReportContent,
    staging: Path,
    progress: Progress | None,
    checkpoint: Checkpoint | None,
) -> list[tuple[Path, Path]]:
    """Every format into the staging folder; (staged, final) pairs. A writer's failure becomes
    `ReportFailed` naming the image (or the summary pages) it was on; a cancel passes through."""
    finals = output_paths(request.out_dir, request.basename, request.formats)
    names = _file_names(request, content)
    current: dict[str, str | None] = {"label": None}

    def tick(label: str) -> None:
        current["label"] = label
        if checkpoint is not None:
            checkpoint()

    staged: list[tuple[Path, Path]] = []
    for i, fmt in enumerate(request.formats):
        if progress is not None:
            progress(len(request.paths) + i, request.steps, f"writing {fmt.upper()}")
        current["label"] = None
        try:
            staged += _write_format(fmt, content, staging, finals[fmt], tick)
        except Cancelled:
            raise
        except Exception as exc:
            where = names.get(current["label"], "the summary pages")
            raise ReportFailed(
                f"{where}: writing the {fmt.upper()} failed ({type(exc).__name__}: {exc})"
            ) from exc
    return staged


def _publish(request: ReportRequest, content: ReportContent, staged: list[tuple[Path, Path]]) -> Path | None:
    """Write the pseudonym key (when asked for), then move every staged file to its final name; the
    key is removed again when publishing fails. Returns the key's path."""
    map_path = None
    if request.pseudonym_map is not None:
        map_path = write_pseudonym_map(
            request.pseudonym_map,
            [
                (e.label, e.sha256, str(Path(p).resolve()))
                for e, p in zip(content.entries, request.paths, strict=True)
            ],
            content.reviewer_key,
        )
    try:
        publish(staged, request.force)
    except PublishClashError as exc:
        if map_path is not None:
            map_path.unlink(missing_ok=True)
        raise ReportExistsError(str(exc)) from None
    except BaseException:
        if map_path is not None:
            map_path.unlink(missing_ok=True)
        raise
    return map_path


def _log_stopped(request: ReportRequest, clip: ClipModel, exc: BaseException) -> None:
    """Audit an export that wrote nothing: cancelled (by the user, or Ctrl-C) or failed."""
    cancelled = isinstance(exc, Cancelled) or not isinstance(exc, Exception)
    log_event(
        "export_cancelled" if cancelled else "export_failed",
        model_sha256=clip.card.weights_sha256,
        out_dir=str(request.out_dir),
        error=f"{type(exc).__name__}: {exc}",
    )


def _log_exported(request: ReportRequest, clip: ClipModel, content: ReportContent) -> None:
    for e in content.entries:
        log_event(
            "export",
            model_sha256=clip.card.weights_sha256,
            file_sha256=e.sha256,
            image=e.label,
            formats=list(request.formats),
            report=str(request.out_dir / request.basename),
            error=e.error,
        )


def _error_lines(request: ReportRequest, content: ReportContent) -> list[str]:
    """One line per unreadable image, for the person at the screen (never written into the report):
    the real file name too."""
    names = _file_names(request, content)
    return [
        f"{e.label}{f' ({names[e.label]})' if names[e.label] != e.label else ''}: {e.error}"
        for e in content.failed_entries
    ]


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

        write_new(main, b"", private=not content.deidentified)  # Qt opens it by name and keeps its mode
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
            write_text_atomic(
                src,
                json.dumps(content.provenance, indent=1, ensure_ascii=False),
                private=not content.deidentified,
            )
    return staged
