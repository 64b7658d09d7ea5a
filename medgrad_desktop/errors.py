"""The one path for an unexpected error, wherever it happens: the main thread, a Qt slot (PySide6 hands
a slot's exception to `sys.excepthook`), the model worker's jobs and any other thread.

`report(exc, action)` logs the error with its traceback and tells the listener (the app's message,
`ui/dialogs/error_message.py`) what went wrong while doing what, unless the same error (type, action
and the line it came from) was told within `REPEAT_S` seconds: a burst of identical errors is logged
each time but shown once. `install_hooks()` routes `sys.excepthook` and `threading.excepthook` here.
Nothing is re-raised: the app goes on.

`recent()` keeps the last errors for a support request: time, type, action and the code line only,
never the message, which may quote a file name or other text of the patient's.
"""

from __future__ import annotations

import collections
import logging
import sys
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from types import TracebackType

log = logging.getLogger(__name__)
REPEAT_S = 10.0
KEEP = 10

Listener = Callable[["ErrorReport"], None]


@dataclass(frozen=True)
class ErrorReport:
    time: str  # local time, to the second
    kind: str  # the exception's type name
    action: str  # "opening the folder", for "Something went wrong while opening the folder"
    where: str  # module:function:line of the innermost frame (the package's own when there is one)

    @property
    def key(self) -> tuple[str, str, str]:
        return self.kind, self.action, self.where

    def line(self) -> str:
        return f"{self.time} {self.kind} while {self.action} at {self.where}"


_lock = threading.Lock()
_listener: Listener | None = None
_last_shown: dict[tuple[str, str, str], float] = {}
_recent: collections.deque[ErrorReport] = collections.deque(maxlen=KEEP)


def set_listener(listener: Listener | None) -> None:
    """Who shows an error to the person at the screen (called in the thread the error happened in)."""
    global _listener
    _listener = listener


def clear_listener(listener: Listener) -> None:
    """Stop `listener`, if it is still the one (a later window may have taken over)."""
    global _listener
    if _listener == listener:
        _listener = None


def report(exc: BaseException, action: str, tb: TracebackType | None = None) -> ErrorReport:
    """Log `exc` with its traceback and, unless it is a repeat, tell the listener. Never raises."""
    tb = tb if tb is not None else exc.__traceback__
    rep = ErrorReport(
        time=datetime.now().strftime("%Y-%m-%d %H:%M:%S"),
        kind=type(exc).__name__,
        action=action,
        where=_where(tb),
    )
    now = time.monotonic()
    with _lock:
        repeat = now - _last_shown.get(rep.key, -REPEAT_S) < REPEAT_S
        if not repeat:
            _last_shown[rep.key] = now
        _recent.append(rep)
    log.error(
        "unexpected error while %s%s", action, " (repeated)" if repeat else "", exc_info=(type(exc), exc, tb)
    )
    listener = _listener
    if listener is not None and not repeat:
        try:
            listener(rep)
        except Exception:
            log.exception("could not show the error message")
    return rep


def recent() -> list[ErrorReport]:
    with _lock:
        return list(_recent)


def _where(tb: TracebackType | None) -> str:
    frames = traceback.extract_tb(tb) if tb is not None else []
    if not frames:
        return "?"
    own = [f for f in frames if "medgrad_desktop" in Path(f.filename).parts]
    f = (own or frames)[-1]
    module = Path(f.filename).stem
    return f"{module}:{f.name}:{f.lineno}"


def _excepthook(exc_type: type[BaseException], exc: BaseException, tb: TracebackType | None) -> None:
    if issubclass(exc_type, KeyboardInterrupt):
        sys.__excepthook__(exc_type, exc, tb)
        return
    report(exc, "responding to your last action", tb)


def _thread_excepthook(args: threading.ExceptHookArgs) -> None:
    if args.exc_type is SystemExit or args.exc_value is None:
        return
    name = args.thread.name if args.thread is not None else "a background thread"
    report(args.exc_value, f"working in the background ({name})", args.exc_traceback)


def install_hooks() -> None:
    """Route uncaught exceptions of the main thread, Qt slots and other threads through `report`."""
    sys.excepthook = _excepthook
    threading.excepthook = _thread_excepthook
