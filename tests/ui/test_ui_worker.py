"""The model-owning worker: jobs run off the UI thread, in priority order, with progress, results,
errors and cancel; a failed model load keeps the previous model."""

from __future__ import annotations

import math
import threading
import time

import pytest

from medgrad_desktop.core.cancel import Cancelled
from medgrad_desktop.ui.work.worker import ModelWorker

WAIT = 30_000


@pytest.fixture
def worker(qtbot):
    w = ModelWorker()
    w.start()
    yield w
    assert w.stop()


def test_job_runs_in_the_worker_thread_with_progress_items_and_result(qtbot, worker):
    ui_thread = threading.get_ident()
    seen_threads, progress, items, results = [], [], [], []

    def job(ctx):
        seen_threads.append(threading.get_ident())
        for i in range(4):
            ctx.checkpoint()
            time.sleep(0.01)
            ctx.emit_item(i)
            ctx.progress(i + 1, 4)
        return "done"

    h = worker.submit(job, kind="t", total=4)
    h.progress.connect(lambda d, t, eta: progress.append((d, t, eta)))
    h.item.connect(items.append)
    h.result.connect(results.append)
    with qtbot.waitSignal(h.finished, timeout=WAIT):
        pass
    assert seen_threads and seen_threads[0] != ui_thread
    assert items == [0, 1, 2, 3] and results == ["done"] and h.state == "done"
    assert [p[:2] for p in progress] == [(1, 4), (2, 4), (3, 4), (4, 4)]
    assert progress[-1][2] == pytest.approx(0.0) and all(not math.isnan(p[2]) for p in progress)


def test_error_is_one_line_and_worker_survives(qtbot, worker):
    errors = []
    h = worker.submit(lambda ctx: (_ for _ in ()).throw(ValueError("image.jpg: broken\nmore detail")))
    h.error.connect(errors.append)
    with qtbot.waitSignal(h.finished, timeout=WAIT):
        pass
    assert errors == ["image.jpg: broken"] and h.state == "failed"
    h2 = worker.submit(lambda ctx: 42)
    with qtbot.waitSignal(h2.result, timeout=WAIT) as blocker:
        pass
    assert blocker.args == [42]


def test_cancel_stops_between_items(qtbot, worker):
    started = threading.Event()
    done_items = []

    def job(ctx):
        for i in range(1000):
            ctx.checkpoint()
            started.set()
            time.sleep(0.005)
            done_items.append(i)
        return "never"

    h = worker.submit(job)
    cancelled = []
    h.cancelled.connect(lambda: cancelled.append(True))
    assert started.wait(10)
    h.cancel()
    with qtbot.waitSignal(h.finished, timeout=WAIT):
        pass
    assert cancelled == [True] and h.state == "cancelled" and len(done_items) < 1000


def test_queued_job_cancelled_before_it_runs(qtbot, worker):
    gate = threading.Event()
    blocker = worker.submit(lambda ctx: gate.wait(10))
    ran = []
    h = worker.submit(lambda ctx: ran.append(1))
    h.cancel()
    gate.set()
    with qtbot.waitSignal(h.finished, timeout=WAIT):
        pass
    assert ran == [] and h.state == "cancelled"
    qtbot.waitUntil(lambda: blocker.is_finished, timeout=WAIT)


def test_interactive_job_runs_between_images_of_a_batch(qtbot, worker):
    order = []

    def batch(ctx):
        for i in range(40):
            ctx.checkpoint()
            order.append(f"b{i}")
            time.sleep(0.005)
        return None

    hb = worker.submit(batch, kind="predict")
    qtbot.waitUntil(lambda: len(order) >= 3, timeout=WAIT)
    hi = worker.submit(
        lambda ctx: order.append("map"), kind="maps", priority=ModelWorker.PRIORITY_INTERACTIVE
    )
    with qtbot.waitSignal(hi.finished, timeout=WAIT):
        pass
    assert "b39" not in order  # the map did not wait for the whole batch
    with qtbot.waitSignal(hb.finished, timeout=WAIT):
        pass
    i = order.index("map")
    assert 3 <= i < 40 and order[-1] == "b39"


def test_failed_load_keeps_previous_model(qtbot, worker):
    changed = []
    worker.model_changed.connect(changed.append)
    h = worker.load(lambda: "model-A")
    with qtbot.waitSignal(h.finished, timeout=WAIT):
        pass
    assert worker.model == "model-A"
    qtbot.waitUntil(lambda: changed == ["model-A"], timeout=WAIT)

    def bad():
        raise OSError("weights.safetensors: no such weights file; choose an existing file")

    errors = []
    h2 = worker.load(bad)
    h2.error.connect(errors.append)
    with qtbot.waitSignal(h2.finished, timeout=WAIT):
        pass
    assert worker.model == "model-A" and errors and "weights.safetensors" in errors[0]
    assert changed == ["model-A"]


def test_jobs_see_the_model_and_stop_cancels_pending(qtbot):
    w = ModelWorker()
    w.start()
    w.load(lambda: "M")
    seen = []
    gate = threading.Event()
    w.submit(lambda ctx: (seen.append(ctx.model), gate.wait(5)))
    pending = w.submit(lambda ctx: seen.append("late"))
    qtbot.waitUntil(lambda: seen == ["M"], timeout=WAIT)
    gate.set()
    w.stopping = True  # as stop() does, before the second job is dequeued
    assert w.stop()
    qtbot.waitUntil(lambda: pending.is_finished, timeout=WAIT)
    assert "late" not in seen and pending.state == "cancelled"


def test_checkpoint_raises_when_cancelled(qtbot, worker):
    caught = []

    def job(ctx):
        ctx._handle.cancel()
        try:
            ctx.checkpoint()
        except Cancelled:
            caught.append(True)
            raise

    h = worker.submit(job)
    with qtbot.waitSignal(h.finished, timeout=WAIT):
        pass
    assert caught == [True] and h.state == "cancelled"
