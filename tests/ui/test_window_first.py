"""The window comes first: its modules import no torch, and it shows the folder's pictures (grid and
viewer) while the model is still loading; the predictions batch, B images per forward pass, gives the
same predictions as one image at a time."""

from __future__ import annotations

import gc
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from medgrad_desktop.testing.sample_images import write_sample_folder
from medgrad_desktop.ui.work import compute as ui_compute
from medgrad_desktop.ui.work.jobs import PredictItem, predict_batch
from medgrad_desktop.ui.work.worker import ModelWorker, WorkerSettings

ROOT = Path(__file__).resolve().parents[2]
WAIT = 60_000
HEAVY = (
    "torch",
    "open_clip",
    "medgrad_desktop.core.model",
    "medgrad_desktop.core.explain",
    "medgrad_desktop.core.classify",
    "medgrad_desktop.ui.work.compute",
    "medgrad_desktop.reports.export",
    "skimage",  # the entropy weight and the follow-up's re-photographed copies: worker jobs, not start-up
    "scipy",
)


@pytest.mark.parametrize(
    "module",
    [
        "medgrad_desktop.ui.launch",
        "medgrad_desktop.ui.main_window",
        "medgrad_desktop.ui.dialogs.export_dialog",
    ],
)
def test_the_window_modules_import_no_torch(module):
    code = (
        f"import sys, importlib; importlib.import_module({module!r}); "
        f"print(','.join(m for m in {HEAVY!r} if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip() == "", f"importing {module} imported {out.stdout.strip()}"


def test_pictures_show_while_the_model_is_still_loading(qtbot, make_window, tiny_model, tmp_path):
    write_sample_folder(tmp_path / "imgs", 6)
    gate = threading.Event()

    def blocked_factory(weights, device):
        gate.wait(WAIT / 1000)
        return tiny_model

    win = make_window(factory=blocked_factory, wait_model=False)
    try:
        win.app.open_folder(tmp_path / "imgs")
        entries = win.app.entries
        qtbot.waitUntil(lambda: all(e.thumbnail is not None for e in entries), timeout=WAIT)
        qtbot.waitUntil(lambda: win.viewers.shown_path == entries[0].path, timeout=WAIT)
        assert win.app.model is None and not gate.is_set()
        assert all(e.prediction is None for e in entries)
    finally:
        gate.set()
    qtbot.waitUntil(lambda: win.app.model is not None, timeout=WAIT)
    qtbot.waitUntil(lambda: all(e.prediction is not None for e in entries), timeout=WAIT)


def _run_predict(qtbot, worker: ModelWorker, items, batch_size: int) -> list[PredictItem]:
    got: list[PredictItem] = []
    h = worker.submit(predict_batch(items, {}, batch_size=batch_size), kind="predict", total=len(items))
    h.item.connect(got.append)
    with qtbot.waitSignal(h.finished, timeout=WAIT):
        pass
    assert h.state == "done"
    return got


def test_batched_predictions_equal_one_at_a_time(qtbot, tiny_model, tmp_path):
    paths = write_sample_folder(tmp_path / "imgs", 7, size=(200, 150), bad=1)
    items = list(enumerate(sorted(paths)))
    worker = ModelWorker()
    worker.start()
    worker.load(lambda: tiny_model)
    try:
        one = _run_predict(qtbot, worker, items, 1)
        batched = _run_predict(qtbot, worker, items, 4)
    finally:
        assert worker.stop()
    assert [i.index for i in batched] == [i.index for i in one] == list(range(len(items)))
    for a, b in zip(one, batched, strict=True):
        assert (a.error is None) == (b.error is None) and a.sha256 == b.sha256
        if a.error:
            assert "broken" in a.path.name and a.error == b.error
            continue
        assert a.prediction.class_ids == b.prediction.class_ids
        assert a.prediction.probabilities == pytest.approx(b.prediction.probabilities, abs=1e-5)
        assert a.prediction.similarities == pytest.approx(b.prediction.similarities, abs=1e-5)


def test_cancel_takes_effect_between_batches(qtbot, tiny_model, tmp_path, monkeypatch):
    paths = write_sample_folder(tmp_path / "imgs", 24, size=(96, 96))
    real = ui_compute.classify

    def slow_classify(*a, **k):
        time.sleep(0.1)  # long enough for the UI thread to cancel after the first batch
        return real(*a, **k)

    monkeypatch.setattr(ui_compute, "classify", slow_classify)
    worker = ModelWorker()
    worker.start()
    worker.load(lambda: tiny_model)
    got: list[PredictItem] = []
    h = worker.submit(
        predict_batch(list(enumerate(paths)), {}, batch_size=4), kind="predict", total=len(paths)
    )
    h.item.connect(got.append)

    def cancel_after_first(item: PredictItem) -> None:
        if len(got) == 1:
            h.cancel()

    h.item.connect(cancel_after_first)
    try:
        with qtbot.waitSignal(h.finished, timeout=WAIT):
            pass
    finally:
        assert worker.stop()
    assert h.state == "cancelled"
    assert len(got) % 4 == 0 and 4 <= len(got) < len(paths)  # whole batches, streamed image by image


def test_deferred_torch_waits_for_allow_while_side_jobs_run(qtbot):
    worker = ModelWorker(settings=WorkerSettings(defer_compute=True))
    worker.start()
    try:
        got: list[object] = []
        heavy = worker.submit(lambda ctx: ctx.compute.__name__, kind="needs-torch")
        heavy.result.connect(got.append)
        side = worker.submit(lambda ctx: threading.current_thread().name, kind="image", uses_model=False)
        with qtbot.waitSignal(side.result, timeout=WAIT) as blocker:
            pass
        assert blocker.args == ["medgrad-side"]
        qtbot.wait(300)
        assert heavy.state == "running" and not got  # still waiting for the window to have painted
        worker.allow_compute()
        with qtbot.waitSignal(heavy.finished, timeout=WAIT):
            pass
        assert got == ["medgrad_desktop.ui.work.compute"]
    finally:
        assert worker.stop()


def test_a_loaded_model_is_frozen_out_of_garbage_collection(qtbot, tiny_model):
    """Full collections walk every tracked object while holding the interpreter lock; with torch, Qt and
    a ViT-B/16 loaded that froze the window for a second, so the worker freezes them after a load."""
    gc.unfreeze()
    worker = ModelWorker()
    worker.start()
    try:
        h = worker.load(lambda: tiny_model)
        with qtbot.waitSignal(h.finished, timeout=WAIT):
            pass
        assert h.state == "done" and gc.get_freeze_count() > 0
    finally:
        assert worker.stop()


def test_previews_are_upright_small_and_refuse_oversized_images(tmp_path, monkeypatch):
    from PIL import Image

    from medgrad_desktop.ui.work import thumbnail_loader

    exif = Image.Exif()
    exif[0x0112] = 6  # stored rotated: upright it is 300 wide and 400 high
    Image.new("RGB", (400, 300), (200, 40, 40)).save(tmp_path / "rot.jpg", exif=exif.tobytes())
    preview = thumbnail_loader.read_thumbnail(tmp_path / "rot.jpg", 160)
    assert preview.shape == (160, 120, 3) and preview.dtype == np.uint8
    monkeypatch.setattr(thumbnail_loader, "MAX_PIXELS", 1000)
    with pytest.raises(ValueError, match="pixel limit"):
        thumbnail_loader.read_thumbnail(tmp_path / "rot.jpg", 160)
