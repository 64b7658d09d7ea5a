"""Atomic file writes: a temporary file in the same folder, fsync, then rename. A crash or a full
disk leaves either the old file or the new one, never half of one.

`publish` does the same for a set of files and folders made in a staging folder (a report with its
manifest and PNG folder): each is moved to its final name by `os.replace` on the same disk, and a
failure part-way undoes the moves already made, so the set appears whole or not at all.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

# mkstemp makes owner-only files; a written file should get the mode a plain open() would give it
_UMASK = os.umask(0)
os.umask(_UMASK)
FILE_MODE = 0o666 & ~_UMASK


class PublishClashError(FileExistsError):
    """A final name appeared while the staged outputs were being made and overwriting was not allowed."""


def write_atomic(path: Path | str, data: bytes | Callable[[BinaryIO], None]) -> Path:
    """Write `data` (bytes, or a function writing into a binary file) to `path` atomically."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)  # reopened with open() so the write goes through the same path as any other file write
    try:
        os.chmod(tmp, FILE_MODE)
        with open(tmp, "wb") as f:
            if callable(data):
                data(f)
            else:
                f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return path


def write_text_atomic(path: Path | str, text: str) -> Path:
    return write_atomic(path, text.encode("utf-8"))


def write_file_atomic(path: Path | str, writer: Callable[[Path], None]) -> Path:
    """For libraries that only write to a file name (safetensors, torch.save, savefig by name):
    `writer(tmp)` writes a temporary name in the same folder, which is fsynced and renamed to `path`."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        os.chmod(tmp, FILE_MODE)
        writer(Path(tmp))
        fsync_tree(Path(tmp))
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return path


def fsync_tree(path: Path) -> None:
    """Flush a file, or every file under a folder, to disk before it is renamed into place."""
    files = [path] if path.is_file() else [p for p in path.rglob("*") if p.is_file()]
    for f in files:
        fd = os.open(f, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def publish(staged: list[tuple[Path, Path]], force: bool = False) -> list[Path]:
    """Move each staged (source, final) file or folder to its final name, all or nothing.

    Sources are fsynced first. A final name that exists is replaced only with `force` (else
    `PublishClashError`); what it held is kept beside the source until every move has succeeded, then
    deleted, or put back if a move fails. Sources must be on the same disk as their finals (a staging
    folder inside the output folder is)."""
    for src, _ in staged:
        fsync_tree(src)
    done: list[tuple[Path, Path | None]] = []  # (final, backup of what it replaced)
    try:
        for src, dst in staged:
            backup = None
            if dst.exists():
                if not force:
                    raise PublishClashError(
                        f"{dst} appeared while the output was being made; nothing written"
                    )
                backup = src.parent / f"old-{dst.name}"
                os.replace(dst, backup)
            os.replace(src, dst)
            done.append((dst, backup))
    except BaseException:
        for dst, backup in reversed(done):
            _remove(dst)
            if backup is not None:
                os.replace(backup, dst)
        raise
    for _, backup in done:
        if backup is not None:
            _remove(backup)
    return [dst for _, dst in staged]


def _remove(path: Path) -> None:
    if path.is_dir():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)
