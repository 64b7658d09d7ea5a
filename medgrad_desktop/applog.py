"""The app's log: one rotating file in the private data folder, so a clinic's support has something to
read when the packaged app (no console on Windows and macOS) meets a problem.

`configure()` is the first thing `main()` does, so a failure at startup, before any window, is in the
log too. Each run starts with a header (app version, platform, Python; the model's name, SHA-256 and
device follow as soon as it has loaded: `log_model`). The files are 0600 from their creation, like
everything else in the data folder, and 1 MB each, the current one and `BACKUPS` older ones kept.

What is logged names files at most (what the project store holds anyway): never a reviewer's note, a
DICOM header value or a report's content. The log is never part of an export.
"""

from __future__ import annotations

import logging
import logging.handlers
import os
import platform
import sys
import threading
from pathlib import Path

from medgrad_desktop import __version__
from medgrad_desktop.appdata import data_dir
from medgrad_desktop.atomic import make_dir, open_private

LOG_NAME = "medgrad.log"
MAX_BYTES = 1_000_000
BACKUPS = 4  # 5 MB in all
LEVELS = ("debug", "info", "warning", "error")
FORMAT = "%(asctime)s %(levelname)-7s %(threadName)s %(name)s: %(message)s"
RUN_MARK = "==== MedGrad Desktop"  # the first line of each run's header

_lock = threading.Lock()
_handler: PrivateRotatingFileHandler | None = None


class PrivateRotatingFileHandler(logging.handlers.RotatingFileHandler):
    """A rotating file whose every file (the current one and each new one after a rollover) is made
    0600 at its creation, never chmod-ed after it was written."""

    def _open(self):  # noqa: ANN202 - logging's own signature
        fd = open_private(self.baseFilename, os.O_WRONLY | os.O_APPEND)
        return os.fdopen(fd, "a", encoding=self.encoding or "utf-8", errors=self.errors)


def log_path() -> Path:
    return data_dir() / "logs" / LOG_NAME


def configure(level: str = "info", *, console: bool = True) -> Path:
    """Send the package's records (and Python warnings) at `level` and above to the log file, and
    warnings and errors also to standard error when `console` (a terminal, if there is one). Writes the
    run's header. Calling again changes the level and keeps the one file handler."""
    global _handler
    lvl = getattr(logging, level.upper(), None)
    if not isinstance(lvl, int):
        raise ValueError(f"unknown log level '{level}'; choose from {', '.join(LEVELS)}")
    root = logging.getLogger()
    with _lock:
        first = _handler is None
        if first:
            path = log_path()
            make_dir(path.parent, private=True)
            _handler = PrivateRotatingFileHandler(
                path, maxBytes=MAX_BYTES, backupCount=BACKUPS, encoding="utf-8"
            )
            _handler.setFormatter(logging.Formatter(FORMAT))
            root.addHandler(_handler)
            if console:
                err = logging.StreamHandler(sys.stderr)
                err.setLevel(logging.WARNING)
                err.setFormatter(logging.Formatter("%(levelname)s: %(message)s"))
                root.addHandler(err)
            logging.captureWarnings(True)
        _handler.setLevel(lvl)
        root.setLevel(min(lvl, logging.INFO))  # the header and model lines always reach the file
    if first:
        _header()
    return Path(_handler.baseFilename)


def _header() -> None:
    log = logging.getLogger("medgrad_desktop.run")
    frozen = " (packaged)" if getattr(sys, "frozen", False) else ""
    log.info("%s %s%s started (pid %d)", RUN_MARK, __version__, frozen, os.getpid())
    log.info("platform: %s; Python %s", platform.platform(), platform.python_version())
    log.info("model and device: logged when the model has loaded")


def log_model(name: str, sha256: str, device: str) -> None:
    """The model in use, in the run's header (it loads behind the window, seconds after the start)."""
    logging.getLogger("medgrad_desktop.run").info("model: %s, weights SHA-256 %s, device %s", name, sha256, device)


def summary_lines() -> list[str]:
    """Version and platform for a support request (no patient data)."""
    frozen = " (packaged)" if getattr(sys, "frozen", False) else ""
    return [
        f"MedGrad Desktop {__version__}{frozen}",
        f"Platform: {platform.platform()}; Python {platform.python_version()}",
    ]
