"""Measure how responsive the UI thread stays while the worker analyses a folder.

A 10 ms QTimer on the UI thread records the gap between its ticks while a folder is opened and every
image predicted; meanwhile a simulated user steps to the next analysed image every 250 ms, so map jobs, image
decoding and overlay rendering are exercised too. The worst gap is what a user feels as a freeze.
Shared by the test (a bound with margin) and `benchmarks/ui_responsiveness.py` (the recorded figure).
"""

from __future__ import annotations

import gc
import resource
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
from PySide6.QtCore import QCoreApplication, QElapsedTimer, QTimer
from PySide6.QtWidgets import QMainWindow


@dataclass
class GapReport:
    images: int
    analysed: int
    seconds: float
    ticks: int
    worst_gap_ms: float
    p99_gap_ms: float
    median_gap_ms: float
    maps_shown: int
    stability_shown: int  # maps whose stability figure was drawn while measuring (the setting is on)
    peak_rss_mb: float  # the process's peak resident memory so far (the app's memory, model included)

    def to_dict(self) -> dict:
        return asdict(self)


def measure_gaps(
    window: QMainWindow,
    folder: Path,
    tick_ms: int = 10,
    step_every_ms: int = 250,
    timeout_s: float = 600.0,
    settle_s: float = 10.0,
) -> GapReport:
    """Open `folder` in `window` (a shown `MainWindow` with its model loaded) and measure; this package
    depends on no app module, so the window comes in as an argument."""
    app, state = QCoreApplication.instance(), window.app
    gc.collect()  # garbage left by earlier work is not this measurement's to pay
    gaps: list[float] = []
    clock = QElapsedTimer()
    last = [0.0]
    maps_shown = [0]
    stability_shown = [0]

    def tick() -> None:
        now = clock.nsecsElapsed() / 1e6
        gaps.append(now - last[0])
        last[0] = now

    window.viewers.map_shown.connect(lambda _m: maps_shown.__setitem__(0, maps_shown[0] + 1))
    window.viewers.stability_shown.connect(lambda: stability_shown.__setitem__(0, stability_shown[0] + 1))
    timer = QTimer()
    timer.setInterval(tick_ms)
    timer.timeout.connect(tick)
    stepper = QTimer()
    stepper.setInterval(step_every_ms)

    def step() -> None:
        # the user looks at images that already have a prediction, as a reviewer would
        e = state.current_entry
        i = state.entries.index(e) if e in state.entries else -1
        if i + 1 < len(state.entries) and state.entries[i + 1].done:
            window.browser.next_image()

    stepper.timeout.connect(step)
    t0 = time.monotonic()
    clock.start()
    timer.start()
    state.open_folder(folder)
    stepper.start()
    end = t0 + timeout_s
    done_at: float | None = None
    while time.monotonic() < end:
        app.processEvents()
        if done_at is None and state.entries and all(e.done for e in state.entries):
            stepper.stop()
            done_at = time.monotonic()
        # then the stability of the maps already shown, which follows each map on the same worker; a
        # map whose figure never comes (a flat map has none) is waited for at most `settle_s`
        if done_at is not None and (
            stability_shown[0] >= maps_shown[0] or time.monotonic() - done_at > settle_s
        ):
            break
        time.sleep(0.001)
    stepper.stop()
    timer.stop()
    seconds = time.monotonic() - t0
    g = np.array(gaps[1:] or [0.0])
    return GapReport(
        images=len(state.entries),
        analysed=sum(e.prediction is not None for e in state.entries),
        seconds=round(seconds, 2),
        ticks=len(gaps),
        worst_gap_ms=round(float(g.max()), 1),
        p99_gap_ms=round(float(np.percentile(g, 99)), 1),
        median_gap_ms=round(float(np.median(g)), 1),
        maps_shown=maps_shown[0],
        stability_shown=stability_shown[0],
        peak_rss_mb=round(peak_rss_mb(), 1),
    )


def peak_rss_mb() -> float:
    """Peak resident set size of this process in MiB (Linux reports KiB, macOS bytes)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 2**20 if sys.platform == "darwin" else peak / 1024
