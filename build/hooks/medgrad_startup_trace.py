"""Startup trace for benchmarks/startup.py: the same code measures a source run and a frozen run.

`install(path)` wraps `QMainWindow.show` so that, for the app's main window, it records (wall clock,
`time.time()`, comparable with the launching process):
  shown            the first paint of the main window (it is on screen),
  model            the model has loaded (`window.model` is set),
  first_prediction the first image of the opened folder has its prediction,
then quits the app (unless MEDGRAD_STARTUP_TRACE_STAY=1) and writes the times as JSON to `path`.
It reads only public attributes of the main window (`model`, `entries`), and is never bundled into
the app's behaviour: the runtime hook imports it only when MEDGRAD_STARTUP_TRACE is set.
"""

from __future__ import annotations

import atexit
import json
import os
import time

_times: dict[str, float] = {}


def _write(path: str) -> None:
    tmp = f"{path}.tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(_times, f)
    os.replace(tmp, path)


def install(path: str) -> None:
    _times["trace_installed"] = time.time()
    from PySide6.QtCore import QEvent, QObject, QTimer
    from PySide6.QtWidgets import QApplication, QMainWindow

    stay = os.environ.get("MEDGRAD_STARTUP_TRACE_STAY") == "1"
    state: dict[str, object] = {}

    class _FirstPaint(QObject):
        def eventFilter(self, obj, event):  # noqa: N802 (Qt name)
            if "shown" not in _times and event.type() == QEvent.Type.Paint:
                win = state.get("window")
                if win is not None and obj is win:
                    _times["shown"] = time.time()
            return False

    def _poll() -> None:
        win = getattr(
            state["window"], "app", state["window"]
        )  # the window's app model holds model and entries
        if "model" not in _times and getattr(win, "model", None) is not None:
            _times["model"] = time.time()
        entries = getattr(win, "entries", None) or []
        if "first_prediction" not in _times and any(
            getattr(e, "prediction", None) is not None for e in entries
        ):
            _times["first_prediction"] = time.time()
            _times["images"] = len(entries)
        if "first_prediction" in _times and "shown" in _times:
            state["timer"].stop()
            _write(path)
            if not stay:
                QApplication.quit()

    original_show = QMainWindow.show

    def show(self) -> None:
        if "window" not in state:
            _times["show_called"] = time.time()
            state["window"] = self
            flt = _FirstPaint(self)
            state["filter"] = flt
            self.installEventFilter(flt)
            timer = QTimer(self)
            timer.setInterval(10)
            timer.timeout.connect(_poll)
            timer.start()
            state["timer"] = timer
        original_show(self)

    QMainWindow.show = show
    atexit.register(_write, path)
