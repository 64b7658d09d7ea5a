"""Export a report to disk: all-or-nothing, never overwriting by accident, and audited.

Everything is written into a hidden staging folder inside the output folder; only when every format
is complete are the files moved to their final names (an `os.replace` each, on the same disk). A
failure or a cancel at any point removes the staging folder, so no partial report is ever left, and
the error names the image it happened on. Existing outputs are refused unless `force` is given.
"""

from __future__ import annotations

import errno
import json
import os
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from medgrad_desktop.audit import log_event
from medgrad_desktop.core.explain import MethodParams
from medgrad_desktop.core.imageio import display_name
from medgrad_desktop.core.model import ClipModel
from medgrad_desktop.reports.builder import Checkpoint, build_report
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


def _fsync_tree(path: Path) -> None:
    files = [path] if path.is_file() else [p for p in path.rglob("*") if p.is_file()]
    for f in files:
        fd = os.open(f, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _publish(staged: list[tuple[Path, Path]], force: bool) -> None:
    """Move staged files/folders to their final names; on failure undo the moves already made."""
    done: list[tuple[Path, Path | None]] = []  # (final, backup of what it replaced)
    try:
        for src, dst in staged:
            backup = None
            if dst.exists():
                if not force:
                    raise ReportExistsError(f"{dst} appeared while the report was being made; nothing written")
                backup = src.parent / f"old-{dst.name}"
                os.replace(dst, backup)
            os.replace(src, dst)
            done.append((dst, backup))
    except BaseException:
        for dst, backup in reversed(done):
            if dst.is_dir():
                shutil.rmtree(dst, ignore_errors=True)
            else:
                dst.unlink(missing_ok=True)
            if backup is not None:
                os.replace(backup, dst)
        raise


def export_report(paths: list[Path], clip: ClipModel, params: list[MethodParams], review_store,
                  out_dir: Path, *, formats=DEFAULT_FORMATS, basename: str = "report", force: bool = False,
                  options: ReportOptions | None = None, pseudonym_map: Path | None = None,
                  progress: Progress | None = None, checkpoint: Checkpoint | None = None) -> ExportResult:
    """Build the report and write every requested format, all or nothing.

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
            raise ValueError(f"{pseudonym_map}: keep the pseudonym map outside the report folder "
                             f"({out_dir}) so the key never travels with the report")
    clash = existing_outputs(out_dir, basename, formats, pseudonym_map)
    if clash and not force:
        raise ReportExistsError("already exists: " + ", ".join(str(p) for p in clash)
                                + "; choose another folder or name, or allow overwriting (--force)")
    out_dir.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=out_dir, prefix=f".{basename}.", suffix=".partial"))
    total = len(paths) + len(formats)
    model_sha = clip.card.weights_sha256
    try:
        def analysis_progress(done: int, _total: int, msg: str) -> None:
            if progress is not None:
                progress(done, total, msg)

        content = build_report(list(paths), clip, params, review_store, staging / "spool", options,
                               progress=analysis_progress, checkpoint=checkpoint)
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
                raise ReportFailed(f"{where}: writing the {fmt.upper()} failed ({type(exc).__name__}: {exc})") from exc
        if checkpoint is not None:
            checkpoint()
        for src, _ in staged:
            _fsync_tree(src)
        map_path = None
        if pseudonym_map is not None:
            map_path = write_pseudonym_map(pseudonym_map, [
                (e.label, e.sha256, str(Path(p).resolve())) for e, p in zip(content.entries, paths, strict=True)])
        try:
            _publish(staged, force)
        except BaseException:
            if map_path is not None:
                map_path.unlink(missing_ok=True)
            raise
    except BaseException as exc:
        cancelled = not isinstance(exc, Exception) or "Cancel" in type(exc).__name__
        log_event("export_cancelled" if cancelled else "export_failed", model_sha256=model_sha,
                  out_dir=str(out_dir), error=f"{type(exc).__name__}: {exc}")
        raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    outputs = [dst for _, dst in staged]
    for e in content.entries:
        log_event("export", model_sha256=model_sha, file_sha256=e.sha256, image=e.label, formats=list(formats),
                  report=str(out_dir / basename), error=e.error)
    if progress is not None:
        progress(total, total, "done")
    # for the person at the screen (never written into the report): the real file name too
    errors = [f"{e.label}{f' ({names[e.label]})' if names[e.label] != e.label else ''}: {e.error}"
              for e in content.failed_entries]
    return ExportResult(outputs=outputs, content=content, errors=errors, pseudonym_map=map_path)


def check_pdf_complete(path: Path) -> None:
    """QPdfWriter reports no write error: a full disk or a file-size limit leaves a PDF cut short that
    looks written. A complete PDF ends with its `%%EOF` marker; without it the export must fail."""
    size = path.stat().st_size
    with open(path, "rb") as f:
        f.seek(max(0, size - 1024))
        tail = f.read()
    if b"%%EOF" not in tail:
        raise OSError(errno.ENOSPC, f"{path.name} is not a complete PDF: the PDF was cut short at {size} bytes "
                      "while writing (disk full or a file-size limit?); free some space and export again")


def _write_format(fmt: str, content: ReportContent, staging: Path, finals: list[Path],
                  tick) -> list[tuple[Path, Path]]:
    """Write one format into the staging folder; return (staged, final) pairs."""
    staged = [(staging / p.name, p) for p in finals]
    main = staged[0][0]
    if fmt == "pdf":
        from medgrad_desktop.reports.pdf_writer import write_pdf

        write_pdf(content, main, tick)
        check_pdf_complete(main)
    elif fmt == "html":
        from medgrad_desktop.reports.html_writer import write_html

        write_html(content, main, tick)
    elif fmt == "csv":
        from medgrad_desktop.reports.csv_writer import write_csv

        write_csv(content, main, tick)
    elif fmt == "png":
        from medgrad_desktop.reports.png_writer import write_pngs

        write_pngs(content, main, tick)
    for src, _ in staged[1:]:  # the manifest beside the HTML / CSV
        if not src.exists():
            src.write_text(json.dumps(content.provenance, indent=1, ensure_ascii=False), encoding="utf-8")
    return staged
