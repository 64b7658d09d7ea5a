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

from medgrad_desktop import __version__, appdata, errors
from medgrad_desktop.appdata import data_dir
from medgrad_desktop.atomic import make_dir, open_private

LOG_NAME = "medgrad.log"
MAX_BYTES = 1_000_000
BACKUPS = 4  # 5 MB in all
LEVELS = ("debug", "info", "warning", "error")
FORMAT = "%(asctime)s %(levelname)-7s %(threadName)s %(name)s: %(message)s"
RUN_MARK = "==== MedGrad Desktop"  # the first line of each run's header
RUN_LOGGER = "medgrad_desktop.run"

_lock = threading.Lock()
_handler: PrivateRotatingFileHandler | None = None
_added: list[logging.Handler] = []  # what `configure` added to the root logger


class PrivateRotatingFileHandler(logging.handlers.RotatingFileHandler):
    """A rotating file whose every file (the current one and each new one after a rollover) is made
    0600 at its creation, never chmod-ed after it was written."""

    def _open(self):
        fd = open_private(self.baseFilename, os.O_WRONLY | os.O_APPEND)
        return os.fdopen(fd, "a", encoding=self.encoding or "utf-8", errors=self.errors)


def log_path() -> Path:
    return data_dir() / "logs" / LOG_NAME


def configure(level: str = "info", *, console: bool = True) -> Path:
    """Send the package's records at `level` and above (other libraries' and Python's warnings and
    errors) to the log file, warnings and errors also to standard error when `console` (a terminal, if
    there is one), and write the run's header. Calling again changes the level only."""
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
            _added[:] = [_handler]
            if console:
                err = logging.StreamHandler(sys.stderr)
                err.setLevel(logging.WARNING)
                err.setFormatter(logging.Formatter("%(levelname)s: %(message)s"))
                _added.append(err)
            for h in _added:
                root.addHandler(h)
            logging.captureWarnings(True)
            root.setLevel(logging.WARNING)  # other libraries: their warnings and errors only
            logging.getLogger(RUN_LOGGER).setLevel(logging.INFO)  # the header, whatever the level
        logging.getLogger("medgrad_desktop").setLevel(lvl)
    if first:
        _header()
    return Path(_handler.baseFilename)


def close() -> None:
    """Stop writing the log file (a test that configured it; the process's exit does this itself)."""
    global _handler
    with _lock:
        for h in _added:
            logging.getLogger().removeHandler(h)
            h.close()
        _added.clear()
        _handler = None
        logging.getLogger("medgrad_desktop").setLevel(logging.NOTSET)


def _header() -> None:
    log = logging.getLogger(RUN_LOGGER)
    frozen = " (packaged)" if getattr(sys, "frozen", False) else ""
    log.info("%s %s%s started (pid %d)", RUN_MARK, __version__, frozen, os.getpid())
    log.info("platform: %s; Python %s", platform.platform(), platform.python_version())
    log.info("model and device: logged when the model has loaded")
    for notice in appdata.notices():  # given (on standard error) before the log existed
        log.info("notice: %s", notice)


def log_model(name: str, sha256: str, device: str) -> None:
    """The model in use, in the run's header (it loads behind the window, seconds after the start)."""
    logging.getLogger(RUN_LOGGER).info("model: %s, weights SHA-256 %s, device %s", name, sha256, device)


def diagnostic_summary(model: str) -> str:
    """What a support email needs (Help > Copy diagnostic summary): version, platform, the model and the
    last errors' type, action and code line. No patient data: no file name, message or note."""
    frozen = " (packaged)" if getattr(sys, "frozen", False) else ""
    last = errors.recent()
    return "\n".join(
        [
            f"MedGrad Desktop {__version__}{frozen}",
            f"Platform: {platform.platform()}; Python {platform.python_version()}",
            f"Model: {model}",
            f"Log: {LOG_NAME} in the app's data folder (Help > Show log)",
            f"Last errors ({len(last)}):" if last else "Last errors: none in this run",
            *(f"  {e.line()}" for e in last),
        ]
    )
