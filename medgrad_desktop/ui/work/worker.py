"""The one mechanism for slow work in the app: a QThread that owns the model and runs jobs.

Why one thread: the model is not thread-safe (its text-embedding cache, hooks on the last block), and
the UI thread must only paint and react. Every forward or backward pass (predictions, maps, report
export) therefore goes through this worker, one job at a time, in priority order, the way Anki's
`aqt.operations` routes every slow operation through one place.

API (what another module such as `medgrad_desktop.ui.dialogs.export_dialog` uses)::

    worker = main_window.worker                    # a ModelWorker, already running
    handle = worker.submit(fn, kind="export", total=len(items), priority=0)
    handle.progress.connect(lambda done, total, eta_s: ...)   # eta_s is NaN until known
    handle.item.connect(lambda payload: ...)        # optional partial results, in order
    handle.result.connect(lambda value: ...)        # fn's return value, once, on success
    handle.error.connect(lambda message: ...)       # one line, on failure
    handle.cancelled.connect(lambda: ...)           # after handle.cancel() took effect
    handle.finished.connect(lambda: ...)            # always last, whatever happened
    handle.cancel()                                 # from the UI thread, at any time

`fn(ctx: JobContext)` runs in the worker thread. It reads the model from `ctx.model` (a `ClipModel`,
or None if none could be loaded), calls `ctx.checkpoint()` between images (this raises `Cancelled`,
from `medgrad_desktop.core.cancel`, when the user pressed Cancel, and lets a waiting interactive job -
a map the user just asked for - run first), reports `ctx.progress(done, total)` and may stream
`ctx.emit_item(payload)`. Whatever it returns arrives through `handle.result`; an exception arrives
as `handle.error(str(exc))`. Payloads and results must be plain data (numpy arrays, dataclasses),
never Qt widgets: signals carry them across threads. `fn` must not touch widgets.

Signals of a handle are emitted in the UI thread (the worker relays them through one queued signal),
so connected slots may update widgets freely, and connecting right after `submit()` never misses a
signal: nothing is delivered before control returns to the event loop. `handle.state` (queued,
running, done, failed, cancelled) and `handle.done` are updated in the same UI-thread step.

`worker.load(factory)` runs `factory()` in the worker thread and, only if it returns a model,
replaces `worker.model` and emits `model_changed(model)`; a failure leaves the previous model in place
and arrives as `handle.error`. `worker.load_model(weights, device, factory=None)` does the same with
`factory(weights, device)`, by default the app's (the chosen weights, or the bundled demo model).

Torch stays out of the window: this module, the job functions (`medgrad_desktop.ui.work.jobs`) and every
view import no torch, so the window with the folder's thumbnails is on screen before torch has loaded.
Whatever needs torch (classify, analyze, load a model, export a report) lives in
`medgrad_desktop.ui.work.compute`, which the worker imports in its own thread the first time a job asks for
`ctx.compute` (the model load does so first); jobs call `ctx.compute.analyze(...)` and so on.

Jobs that never touch the model (decoding the photo the user just selected) may say
`submit(fn, uses_model=False)`: they run on a second thread, in order, so they never wait behind a
model load or a batch. Their `ctx.model` and `ctx.compute` must not be used.
"""

from __future__ import annotations

import gc
import heapq
import itertools
import logging
import math
import os
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from types import ModuleType
from typing import Any

from PySide6.QtCore import QObject, QThread, Signal

from medgrad_desktop import errors
from medgrad_desktop.core.cancel import Cancelled
from medgrad_desktop.core.card import ModelLoadError
from medgrad_desktop.core.imageio import ImageLoadError

_EXPECTED = (ImageLoadError, ModelLoadError, ValueError, OSError)
log = logging.getLogger(__name__)
# what a job kind was doing, for "Something went wrong while ..."
JOB_ACTIONS = {
    "predict": "analysing the images",
    "maps": "computing a map",
    "export": "exporting a report",
    "image": "opening an image",
    "thumbnails": "making thumbnails",
    "load-model": "loading the model",
    "self-test-report": "checking the self-test's report",
}


def job_action(kind: str) -> str:
    return JOB_ACTIONS.get(kind, f"running the {kind} job")


def lower_thread_priority(nice: int) -> None:
    """Raise the calling thread's nice value (Linux: per thread), so on a busy machine the scheduler
    prefers the UI thread. QThread priorities map to nothing on Linux, hence setpriority. Best effort."""
    if nice <= 0 or not hasattr(os, "setpriority"):
        return
    try:
        tid = threading.get_native_id()
        os.setpriority(os.PRIO_PROCESS, tid, min(19, os.getpriority(os.PRIO_PROCESS, tid) + nice))
    except OSError:
        pass


@dataclass(frozen=True)
class WorkerSettings:
    """How a worker uses the machine, fixed when it is made (the app's `launch` chooses them; tests and
    tools take the defaults)."""

    # torch's intra-op threads, set once torch is imported; None keeps torch's default. Process-wide, as
    # torch's own setting is.
    torch_threads: int | None = None
    # True: the torch import waits for `allow_compute()`. Importing torch holds the interpreter lock for
    # seconds; the app lets its window paint first.
    defer_compute: bool = False


class JobHandle(QObject):
    """The UI side of one job: its signals, and `cancel()`."""

    progress = Signal(int, int, float)  # done, total, ETA in seconds (NaN when unknown)
    item = Signal(object)
    result = Signal(object)
    error = Signal(str)
    cancelled = Signal()
    finished = Signal()

    def __init__(self, job_id: int, kind: str, total: int, parent: QObject | None = None):
        super().__init__(parent)
        self.job_id = job_id
        self.kind = kind
        self.total = total
        self.done = 0
        self.state = "queued"  # queued | running | done | failed | cancelled
        self._cancel = threading.Event()

    def cancel(self) -> None:
        self._cancel.set()

    @property
    def is_cancel_requested(self) -> bool:
        return self._cancel.is_set()

    @property
    def is_finished(self) -> bool:
        return self.state in ("done", "failed", "cancelled")


class JobContext:
    """What a job function sees in the worker thread."""

    def __init__(self, worker: ModelWorker, handle: JobHandle, priority: int, uses_model: bool = True):
        self._worker = worker
        self._handle = handle
        self._priority = priority
        self._uses_model = uses_model
        self._started = time.monotonic()

    @property
    def model(self) -> Any:
        return self._worker.model

    @property
    def compute(self) -> ModuleType:
        """`medgrad_desktop.ui.work.compute`: classify, analyze, load_model, export_report, ... (imports torch)."""
        return self._worker.compute

    def cancelled(self) -> bool:
        return self._handle.is_cancel_requested or self._worker.stopping

    def checkpoint(self) -> None:
        """Call between images: raises Cancelled if cancelled, first runs waiting interactive jobs."""
        if self.cancelled():
            raise Cancelled()
        if self._uses_model:
            self._worker._run_interrupting(self._priority)
        if self.cancelled():
            raise Cancelled()

    def progress(self, done: int, total: int | None = None) -> None:
        total = self._handle.total if total is None else total
        elapsed = time.monotonic() - self._started
        eta = elapsed / done * (total - done) if done > 0 and total >= done else math.nan
        self._worker._relay.emit(self._handle, "progress", (int(done), int(total), float(eta)))

    def emit_item(self, payload: object) -> None:
        self._worker._relay.emit(self._handle, "item", (payload,))


class _Job:
    __slots__ = ("fn", "handle", "priority", "interrupts", "is_load", "uses_model")

    def __init__(
        self,
        fn: Callable[[JobContext], Any],
        handle: JobHandle,
        priority: int,
        interrupts: bool,
        is_load: bool,
        uses_model: bool = True,
    ):
        self.fn, self.handle, self.priority = fn, handle, priority
        self.interrupts, self.is_load, self.uses_model = interrupts, is_load, uses_model


class ModelWorker(QThread):
    """Owns the model; runs submitted jobs one at a time, highest priority first, FIFO within one."""

    model_changed = Signal(object)
    job_started = Signal(object)  # JobHandle
    job_finished = Signal(object)  # JobHandle
    # Every handle signal travels through this one queued signal and is re-emitted in the UI thread, so
    # a caller that connects right after submit() can never miss a signal of a job that ran fast.
    _relay = Signal(object, str, object)

    PRIORITY_BATCH = 0
    PRIORITY_INTERACTIVE = 10
    NICE = 5  # the worker yields the CPU to the UI thread when both want it (Linux/macOS per-thread nice)

    def __init__(self, parent: QObject | None = None, settings: WorkerSettings | None = None):
        super().__init__(parent)
        self.settings = settings or WorkerSettings()
        self.model: Any = None
        self.stopping = False
        self._cond = threading.Condition()
        self._queue: list[tuple[int, int, _Job]] = []
        self._seq = itertools.count()
        self._ids = itertools.count(1)
        self._live: dict[int, JobHandle] = {}  # keeps handles alive until their job finished
        self._current: JobHandle | None = None
        self._compute: ModuleType | None = None
        self._compute_allowed = threading.Event()
        if not self.settings.defer_compute:
            self._compute_allowed.set()
        self._side: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        self._side_thread: threading.Thread | None = None
        self._relay.connect(self._on_relay)

    @property
    def compute(self) -> ModuleType:
        """The torch side of the app (`medgrad_desktop.ui.work.compute`), imported on first use, in the worker
        thread, once `allow_compute()` was called when `settings.defer_compute` is set."""
        if self._compute is None:
            while not self._compute_allowed.wait(0.1):
                if self.stopping:
                    raise Cancelled()
            # The app's one late import, on purpose: it brings torch and open_clip (seconds), and made
            # here, in the worker, the window and its thumbnails are on screen while it runs.
            from medgrad_desktop.ui.work import compute

            if self.settings.torch_threads:
                compute.use_threads(self.settings.torch_threads)
            self._compute = compute
        return self._compute

    # --- UI thread --------------------------------------------------------------------------
    def submit(
        self,
        fn: Callable[[JobContext], Any],
        *,
        kind: str = "job",
        total: int = 0,
        priority: int = PRIORITY_BATCH,
        interactive: bool | None = None,
        uses_model: bool = True,
    ) -> JobHandle:
        """Queue `fn(ctx)`. Interactive jobs (default: priority above batch) may run between the
        images of a running lower-priority job, so a map the user asked for never waits for a batch.
        `uses_model=False`: a job that needs neither the model nor torch runs on the side thread."""
        interrupts = priority > self.PRIORITY_BATCH if interactive is None else interactive
        return self._enqueue(fn, kind, total, priority, interrupts, is_load=False, uses_model=uses_model)

    def load(self, factory: Callable[[], Any], *, kind: str = "load-model") -> JobHandle:
        """Load a model in the worker thread; on success it replaces the current model."""
        return self._enqueue(
            lambda ctx: factory(), kind, 1, self.PRIORITY_INTERACTIVE + 10, False, is_load=True
        )

    def load_model(
        self, weights: str, device: str, factory: Callable[[str, str], Any] | None = None
    ) -> JobHandle:
        """Load `weights` ("" for the bundled demo model) on `device` with `factory(weights, device)`,
        by default `compute.default_model_factory`; the window shows while this runs."""

        def run(ctx: JobContext) -> Any:
            return (factory or ctx.compute.default_model_factory)(weights, device)

        return self._enqueue(run, "load-model", 1, self.PRIORITY_INTERACTIVE + 10, False, is_load=True)

    def allow_compute(self) -> None:
        """Let the worker import the torch side now (see `WorkerSettings.defer_compute`)."""
        self._compute_allowed.set()

    def cancel_all(self, kind: str | None = None) -> None:
        with self._cond:
            handles = list(self._live.values())
        for h in handles:
            if kind is None or h.kind == kind:
                h.cancel()

    def pending(self, kind: str | None = None) -> list[JobHandle]:
        with self._cond:
            return [h for h in self._live.values() if not h.is_finished and (kind is None or h.kind == kind)]

    def stop(self, timeout_ms: int = 10000) -> bool:
        """Cancel everything and end the thread; True when it ended in time."""
        self.stopping = True
        self.cancel_all()
        with self._cond:
            self._cond.notify_all()
        side = self._side_thread
        if side is not None:
            self._side.put(None)
            side.join(timeout_ms / 1000)
        return self.wait(timeout_ms) if self.isRunning() else True

    def _enqueue(self, fn, kind, total, priority, interrupts, is_load, uses_model=True) -> JobHandle:
        handle = JobHandle(next(self._ids), kind, total)
        job = _Job(fn, handle, priority, interrupts, is_load, uses_model)
        with self._cond:
            self._live[handle.job_id] = handle
            if not uses_model:
                if self._side_thread is None:
                    self._side_thread = threading.Thread(
                        target=self._run_side, name="medgrad-side", daemon=True
                    )
                    self._side_thread.start()
                self._side.put(job)
                return handle
            heapq.heappush(self._queue, (-priority, next(self._seq), job))
            self._cond.notify()
        return handle

    # --- side thread ----------------------------------------------------------------------------
    def _run_side(self) -> None:
        """Jobs without the model, in order (decoding a photo); never behind a model load."""
        lower_thread_priority(self.NICE)
        while (job := self._side.get()) is not None:
            self._execute(job)

    # --- worker thread ------------------------------------------------------------------------
    def run(self) -> None:
        threading.current_thread().name = "medgrad-worker"  # as the log names it
        lower_thread_priority(self.NICE)
        while True:
            with self._cond:
                while not self._queue and not self.stopping:
                    self._cond.wait(0.5)
                if self.stopping and not self._queue:
                    return
                _, _, job = heapq.heappop(self._queue)
            self._execute(job)
            if self.stopping:
                self._drain()
                return

    def _drain(self) -> None:
        with self._cond:
            jobs = [j for _, _, j in self._queue]
            self._queue.clear()
        for job in jobs:
            self._finish(job.handle, "cancelled")

    def _run_interrupting(self, current_priority: int) -> None:
        """Run queued interactive jobs that outrank the running one (nested, in this thread)."""
        while True:
            with self._cond:
                if not self._queue:
                    return
                neg_p, _, job = self._queue[0]
                if not job.interrupts or -neg_p <= current_priority:
                    return
                heapq.heappop(self._queue)
            self._execute(job)

    def _execute(self, job: _Job) -> None:
        handle = job.handle
        if handle.is_cancel_requested or self.stopping:
            self._finish(handle, "cancelled")
            return
        on_model_thread = job.uses_model
        outer = self._current
        if on_model_thread:
            self._current = handle
        self._relay.emit(handle, "started", ())
        ctx = JobContext(self, handle, job.priority, job.uses_model)
        try:
            value = job.fn(ctx)
        except Cancelled:
            self._finish(handle, "cancelled")
        except Exception as exc:  # noqa: BLE001 - a failing job must never kill the worker thread
            message = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            if not isinstance(exc, _EXPECTED) or not str(exc).strip():
                errors.report(exc, job_action(handle.kind))  # a bug, not a bad file: logged and shown
            else:
                log.warning("%s failed: %s", job_action(handle.kind), message)
            self._relay.emit(handle, "error", (message,))
            self._finish(handle, "failed")
        else:
            if job.is_load and value is not None:
                self.model = value
                # torch, open_clip, Qt and the model are a million long-lived objects; a full garbage
                # collection walks them all while holding the interpreter lock (0.6 s with ViT-B/16 on a
                # busy CPU: a frozen window). Frozen, they are never walked again.
                gc.freeze()
                self._relay.emit(handle, "model", (value,))
            self._relay.emit(handle, "result", (value,))
            self._finish(handle, "done")
        finally:
            if on_model_thread:
                self._current = outer

    def _finish(self, handle: JobHandle, state: str) -> None:
        self._relay.emit(handle, "finish", (state,))

    def _on_relay(self, handle: JobHandle, what: str, args: tuple) -> None:
        """UI thread: update the handle's state and emit its signal."""
        if what == "progress":
            handle.done, handle.total = args[0], args[1]
            handle.progress.emit(*args)
        elif what == "item":
            handle.item.emit(*args)
        elif what == "started":
            handle.state = "running"
            self.job_started.emit(handle)
        elif what == "model":
            self.model_changed.emit(*args)
        elif what == "result":
            handle.result.emit(*args)
        elif what == "error":
            handle.error.emit(*args)
        elif what == "finish":
            handle.state = args[0]
            if handle.state == "cancelled":
                handle.cancelled.emit()
            handle.finished.emit()
            self.job_finished.emit(handle)
            with self._cond:
                self._live.pop(handle.job_id, None)
