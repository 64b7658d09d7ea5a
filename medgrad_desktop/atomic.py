"""Atomic file writes: a temporary file in the same folder, fsync, then rename. A crash or a full
disk leaves either the old file or the new one, never half of one.

`publish` does the same for a set of files and folders made in a staging folder (a report with its
manifest and PNG folder): each is moved to its final name by `os.replace` on the same disk, and a
failure part-way undoes the moves already made, so the set appears whole or not at all.

Who may read what the app writes is decided here, once. The clinic's workstation is shared, so what
identifies a patient (the project store and its WAL, the audit log, the settings, the log, a pseudonym
key, a report that is not de-identified, spool and temporary files) is created private to its user:
files 0600 and folders 0700 from the moment they exist, never chmod-ed after the data is in them
(`private=True` below, `open_private`, `create_private_file`, `make_dir(private=True)`). Everything
else (a de-identified report, a model file) gets the mode a plain `open()` gives under the user's umask.
Windows ignores these modes: there the per-user application-data folder's own ACL keeps others out.
"""

from __future__ import annotations

import os
import shutil
import stat
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

# mkstemp makes owner-only files; a shared file gets the mode a plain open() would give it
_UMASK = os.umask(0)
os.umask(_UMASK)
FILE_MODE = 0o666 & ~_UMASK
PRIVATE_FILE_MODE = 0o600
PRIVATE_DIR_MODE = 0o700
_OTHERS = stat.S_IRWXG | stat.S_IRWXO  # any access by the group or by other accounts


def file_mode(private: bool) -> int:
    return PRIVATE_FILE_MODE if private else FILE_MODE


def make_dir(path: Path | str, *, private: bool = False) -> Path:
    """`path` and its missing parents; a folder made here for private files is 0700 (its parents get the
    umask's mode: they are the user's own folders, such as Documents). An existing folder is left as it is."""
    path = Path(path)
    if not path.is_dir():
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.mkdir(path, PRIVATE_DIR_MODE if private else 0o777)
        except FileExistsError:
            if not path.is_dir():
                raise
    return path


def tighten_dir(path: Path | str) -> bool:
    """Make an existing folder of the app's own 0700 if the group or other accounts can reach into it;
    True when it changed. Never a folder owned by another account or a shared sticky one (/tmp)."""
    if os.name != "posix":
        return False
    st = os.stat(path)
    if not st.st_mode & _OTHERS or st.st_uid != os.geteuid() or st.st_mode & stat.S_ISVTX:
        return False
    os.chmod(path, PRIVATE_DIR_MODE)
    return True


def _tighten_fd(fd: int) -> None:
    """A private file written by an earlier version with the umask's mode becomes 0600 (its folder,
    private now, already keeps others out; this keeps it so when the file is copied elsewhere)."""
    if os.name == "posix" and os.fstat(fd).st_mode & _OTHERS:
        os.fchmod(fd, PRIVATE_FILE_MODE)


def open_private(path: Path | str, flags: int) -> int:
    """`os.open` of a private file: created 0600, an existing one made 0600; returns the descriptor."""
    fd = os.open(path, flags | os.O_CREAT, PRIVATE_FILE_MODE)
    try:
        _tighten_fd(fd)
    except BaseException:
        os.close(fd)
        raise
    return fd


def tighten_file(path: Path | str) -> None:
    """Make an existing private file (of an earlier version) 0600; nothing when there is none."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        return
    try:
        _tighten_fd(fd)
    finally:
        os.close(fd)


def create_private_file(path: Path | str) -> Path:
    """Make sure `path` exists as a private file before a library opens it by name and writes into it
    (SQLite, QSettings keep the mode of a file that exists, and SQLite gives its -wal and -shm files the
    database file's mode)."""
    os.close(open_private(path, os.O_WRONLY))
    return Path(path)


def write_new(path: Path | str, data: bytes, *, private: bool = False) -> Path:
    """Write a file with its mode set at its creation (scratch files: not atomic, not synced)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, file_mode(private))
    try:
        if private:
            _tighten_fd(fd)
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
    finally:
        os.close(fd)
    return Path(path)


class PublishClashError(FileExistsError):
    """A final name appeared while the staged outputs were being made and overwriting was not allowed."""


def write_atomic(
    path: Path | str, data: bytes | Callable[[BinaryIO], None], *, private: bool = False
) -> Path:
    """Write `data` (bytes, or a function writing into a binary file) to `path` atomically; `private`:
    0600 from its creation (mkstemp's own mode), else the umask's mode, set before anything is written."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)  # reopened with open() so the write goes through the same path as any other file write
    try:
        if not private:
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


def write_text_atomic(path: Path | str, text: str, *, private: bool = False) -> Path:
    return write_atomic(path, text.encode("utf-8"), private=private)


def write_file_atomic(path: Path | str, writer: Callable[[Path], None], *, private: bool = False) -> Path:
    """For libraries that only write to a file name (safetensors, torch.save, savefig by name):
    `writer(tmp)` writes a temporary name in the same folder, which is fsynced and renamed to `path`.
    The temporary file exists, with its mode, before the library opens it."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        if not private:
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
