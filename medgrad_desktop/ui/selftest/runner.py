"""`python main.py --self-test`: the real window, offscreen, on the demo folder (or a given one).

It waits for the model, every prediction and one map of each method for the first readable image,
checks them (finite, in [0, 1], not constant, at the image's size), writes and checks a report of that image
in a temporary folder (`report_check`) and returns 0, or prints what failed
and returns 1. The packaged app runs the same code, so a broken bundle fails here, not at a clinician.
"""

from __future__ import annotations

import logging
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from medgrad_desktop.core.imageio import list_images
from medgrad_desktop.core.method_params import METHOD_NAMES, METHODS
from medgrad_desktop.testing.waiting import wait_until
from medgrad_desktop.ui.main_window import MainWindow
from medgrad_desktop.ui.qt_application import make_app
from medgrad_desktop.ui.state.app_model import ModelFactory
from medgrad_desktop.ui.state.settings import AppSettings
from medgrad_desktop.ui.widgets.image_viewer import overlay_map

log = logging.getLogger(__name__)


def _fail(msg: str) -> int:
    print(f"self-test FAILED: {msg}", file=sys.stderr)
    log.error("self-test FAILED: %s", msg)
    return 1


def run_self_test(folder: Path, timeout_s: float = 300.0, model_factory: ModelFactory | None = None) -> int:
    t0 = time.monotonic()
    folder = Path(folder)
    if not folder.is_dir():
        return _fail(f"{folder}: no such folder; pass a folder of images")
    if not list_images(folder):
        return _fail(f"{folder}: no images in it; pass a folder of images (the demo images may be missing)")
    app = make_app()
    tmp = tempfile.TemporaryDirectory(prefix="medgrad-selftest-")
    win = MainWindow(settings=AppSettings.at(Path(tmp.name) / "settings.ini"), model_factory=model_factory)
    state, viewer = win.app, win.viewers.viewer
    try:
        win.show()
        if not wait_until(lambda: state.model is not None or state.model_error, timeout_s, app):
            return _fail("the model did not load in time")
        if state.model is None:
            return _fail(f"the model did not load: {state.model_error}")
        print(
            f"model: {state.model.card.display_name()} sha256 {state.model.card.short_hash} on {state.model.device}"
        )
        for w in state.model.card.warnings():
            print(f"warning: {w}")
        state.open_folder(folder)
        left = timeout_s - (time.monotonic() - t0)
        if not wait_until(lambda: all(e.done for e in state.entries), left, app):
            done = sum(e.done for e in state.entries)
            return _fail(f"only {done} of {len(state.entries)} predictions arrived in {timeout_s:.0f} s")
        ok = [i for i, e in enumerate(state.entries) if e.prediction is not None]
        errors = [e.error for e in state.entries if e.error]
        for msg in errors:
            print(f"unreadable: {msg}")
        if not ok:
            return _fail("no image could be analysed")
        for i in ok:
            p = state.entries[i].prediction
            total = sum(p.probabilities)
            if not (abs(total - 1.0) < 1e-3 and 0.0 <= p.confidence <= 1.0):
                return _fail(f"{state.entries[i].name}: probabilities sum to {total:.4f}")
        print(f"predictions: {len(ok)} images analysed, {len(errors)} unreadable")
        state.select(ok[0])
        entry = state.entries[ok[0]]
        varied = []  # methods whose map varies over the image
        for m in METHODS:
            state.set_method(m)
            left = timeout_s - (time.monotonic() - t0)
            if not wait_until(
                lambda m=m: (
                    state.current_target() is not None
                    and state.cached_map(entry, m, state.current_target()) is not None
                    and viewer.map_values is not None
                ),
                left,
                app,
            ):
                return _fail(f"no {METHOD_NAMES[m]} map for {entry.name} in time")
            hm = state.cached_map(entry, m, state.current_target())
            vals = overlay_map(hm, *viewer.image_size)
            if not np.isfinite(hm.raw).all():
                return _fail(f"{METHOD_NAMES[m]} map of {entry.name} has non-finite values")
            if vals.min() < -1e-6 or vals.max() > 1 + 1e-6:
                return _fail(f"{METHOD_NAMES[m]} map of {entry.name} is outside [0, 1]")
            if float(vals.max() - vals.min()) > 0:
                varied.append(m)
            elif float(hm.raw.max()) > 0:  # a flat map is only right when no patch has positive evidence
                return _fail(
                    f"{METHOD_NAMES[m]} map of {entry.name} is constant although its raw map is not zero"
                )
            if not viewer.overlay_item.isVisible():
                return _fail(f"{METHOD_NAMES[m]} overlay is not shown")
            print(f"map: {METHOD_NAMES[m]} for {entry.name}, target {hm.target.label}, score {hm.score:.3f}")
        if not varied:
            return _fail(
                f"every map of {entry.name} is flat: the explanation engine found no evidence at all"
            )
        # the report renders maps with the model, so it runs as a worker job like every other model use;
        # its check imports torch, so it is reached through the worker's `compute` module
        store, out = state.review_store, Path(tmp.name) / "report"
        job = win.worker.submit(
            lambda ctx: ctx.compute.check_report(ctx.model, entry.path, entry.prediction, store, out),
            kind="self-test-report",
        )
        answer: list[str] = []
        job.result.connect(answer.append)
        job.error.connect(lambda m: answer.append(f"the report step failed: {m}"))
        left = timeout_s - (time.monotonic() - t0)
        if not wait_until(lambda: job.is_finished, max(left, 60.0), app):
            return _fail("the report step did not finish in time")
        if not answer or answer[0]:
            return _fail(answer[0] if answer else "the report step gave no answer")
        print(f"self-test passed in {time.monotonic() - t0:.1f} s")
        log.info("self-test passed in %.1f s", time.monotonic() - t0)
        return 0
    finally:
        win.close()
        app.processEvents()
        tmp.cleanup()
