"""The app's data folder (project store, audit log, log files). `MEDGRAD_DATA_DIR` overrides it, which
tests use to stay out of the user's real folder.

The folder holds what identifies patients (source paths, reviewers' notes, decisions), so it is the
user's alone: made 0700 on POSIX, and an existing one that other accounts can reach into is tightened
once, with a one-line notice (logged, and shown by the app). On Windows and macOS the per-user
folders (`%LOCALAPPDATA%`, `~/Library/Application Support`) are private to the account already.
"""

from __future__ import annotations

import logging
import os
import sys
import threading
from pathlib import Path

from medgrad_desktop.atomic import make_dir, tighten_dir

log = logging.getLogger(__name__)
_lock = threading.Lock()
_checked: set[str] = set()  # folders whose mode this process has already looked at
_notices: list[str] = []
_taken = 0


def data_dir() -> Path:
    override = os.environ.get("MEDGRAD_DATA_DIR")
    if override:
        base = Path(override)
    elif sys.platform == "win32":
        base = Path(os.environ.get("LOCALAPPDATA", Path.home() / "AppData" / "Local")) / "MedGradDesktop"
    elif sys.platform == "darwin":
        base = Path.home() / "Library" / "Application Support" / "MedGradDesktop"
    else:
        base = Path(os.environ.get("XDG_DATA_HOME", Path.home() / ".local" / "share")) / "MedGradDesktop"
    return own_folder(base)


def own_folder(path: Path) -> Path:
    """A folder the app keeps for itself: made private if missing; the first time this process sees it,
    tightened if others can reach into it, with a notice."""
    make_dir(path, private=True)
    key = str(path)
    with _lock:
        if key in _checked:
            return path
        _checked.add(key)
    if tighten_dir(path):
        notice = f"{path} could be read by other accounts on this computer; it is now private to you (0700)"
        _notices.append(notice)
        log.warning(notice)
    return path


def notices() -> list[str]:
    """Every one-line notice this process gave about folders it made private (the log's header)."""
    with _lock:
        return list(_notices)


def take_notices() -> list[str]:
    """The notices not taken before (the app's status bar shows each once)."""
    global _taken
    with _lock:
        out = _notices[_taken:]
        _taken = len(_notices)
    return out
