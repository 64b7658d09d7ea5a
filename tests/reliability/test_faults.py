"""Injected faults: a GPU out-of-memory falls back to the CPU for that image with a message; cancelling
predictions or an export leaves a consistent state; a full disk during export leaves no partial file
(ENOSPC injected into Python writes, and a real file-size limit for the C++ PDF writer)."""

from __future__ import annotations

import builtins
import copy
import errno
import io
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from medgrad_desktop.core.cancel import Cancelled
from medgrad_desktop.core.explain import analyze, default_params
from medgrad_desktop.core.fallback import cpu_copy, is_oom, run_with_fallback

ROOT = Path(__file__).resolve().parents[2]
OOM_TEXT = "CUDA out of memory. Tried to allocate 2.00 GiB (simulated)"


def _images(folder: Path, n: int, size: tuple[int, int] = (48, 64)) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(n):
        p = folder / f"img{i:02d}.png"
        Image.fromarray(np.random.default_rng(i).integers(0, 256, (*size, 3), dtype=np.uint8)).save(p)
        paths.append(p)
    return paths


def _fake_gpu(clip):
    """The tiny model wearing a CUDA label: what `run_with_fallback` sees on a GPU machine."""
    twin = copy.copy(clip)
    twin.device = torch.device("cuda")
    return twin


# ------------------------------------------------------------------ GPU out-of-memory


def test_oom_recomputes_that_image_on_a_cpu_copy(tiny_model):
    gpu = _fake_gpu(tiny_model)
    rgb = np.random.default_rng(0).integers(0, 256, (40, 60, 3), dtype=np.uint8)
    target = tiny_model.catalogue.class_targets()[0]
    params = [default_params("medgrad")]
    calls: list[str] = []

    def work(m):
        calls.append(m.device.type)
        if m.device.type == "cuda":
            raise torch.cuda.OutOfMemoryError(OOM_TEXT)
        return analyze(m, rgb, [target], params)

    messages: list[str] = []
    result = run_with_fallback(gpu, work, on_fallback=messages.append, what="big.png")
    assert calls == ["cuda", "cpu"]
    assert len(messages) == 1 and messages[0].startswith("big.png: the GPU ran out of memory")
    assert "CPU" in messages[0] and "Tried to allocate" in messages[0]
    ref = analyze(tiny_model, rgb, [target], params)
    np.testing.assert_array_equal(result.get("medgrad", target).raw, ref.get("medgrad", target).raw)
    assert result.prediction.probabilities == ref.prediction.probabilities
    twin = cpu_copy(gpu)
    assert twin is cpu_copy(gpu), "the CPU copy is made once per model"
    assert twin.model is not tiny_model.model and twin.device.type == "cpu"
    for (k, a), b in zip(
        twin.model.state_dict().items(), tiny_model.model.state_dict().values(), strict=True
    ):
        assert torch.equal(a, b), k
        assert a.data_ptr() != b.data_ptr(), f"{k} shares memory with the GPU model"
    assert gpu.device.type == "cuda", "the GPU model is never moved"


def test_fallback_lets_other_errors_through(tiny_model):
    gpu = _fake_gpu(tiny_model)

    def bad(_m):
        raise ValueError("not an OOM")

    with pytest.raises(ValueError, match="not an OOM"):
        run_with_fallback(gpu, bad)

    def always_oom(_m):
        raise torch.cuda.OutOfMemoryError(OOM_TEXT)

    with pytest.raises(torch.cuda.OutOfMemoryError):  # OOM on the CPU copy too: no endless retry
        run_with_fallback(gpu, always_oom)
    assert is_oom(RuntimeError("CUDA error: out of memory")) and not is_oom(RuntimeError("shape mismatch"))


class _Ctx:
    """A stand-in for the worker's JobContext: runs a job function without a thread."""

    def __init__(self, model, cancel_after: int | None = None):
        import medgrad_desktop.ui.work.compute as compute

        self.model = model
        self.compute = compute
        self.items: list = []
        self.cancel_after = cancel_after

    def checkpoint(self):
        if self.cancel_after is not None and len(self.items) >= self.cancel_after:
            raise Cancelled()

    def progress(self, done, total=None):
        pass

    def emit_item(self, item):
        self.items.append(item)


def test_app_jobs_fall_back_on_oom_with_a_note(tiny_model, tmp_path: Path, monkeypatch):
    """The worker's job functions: the second image's GPU pass runs out of memory; it still gets
    its prediction (and its map) with a note, and the other images are untouched."""
    pytest.importorskip("PySide6")
    import medgrad_desktop.ui.work.compute as compute
    import medgrad_desktop.ui.work.jobs as jobs
    from medgrad_desktop.ui.state.target_choice import TargetChoice

    paths = _images(tmp_path, 3)
    gpu = _fake_gpu(tiny_model)
    real_classify, real_analyze = compute.classify, compute.analyze
    seen: list[tuple[str, str]] = []

    def classify_oom_on_second(m, images, **kw):
        seen.append(("classify", m.device.type))
        if m.device.type == "cuda" and len([s for s in seen if s == ("classify", "cuda")]) == 2:
            raise torch.cuda.OutOfMemoryError(OOM_TEXT)
        return real_classify(tiny_model if m is gpu else m, images, **kw)  # "the GPU" computes on the CPU

    monkeypatch.setattr(compute, "classify", classify_oom_on_second)
    ctx = _Ctx(gpu)
    assert jobs.predict_batch(list(enumerate(paths)), {}, batch_size=1)(ctx) == 3  # image by image
    assert [it.error for it in ctx.items] == [None, None, None]
    assert [it.note is not None for it in ctx.items] == [False, True, False]
    assert ctx.items[1].note.startswith("img01.png: the GPU ran out of memory")
    ref = real_classify(tiny_model, [np.asarray(Image.open(paths[1]).convert("RGB"))], batch_size=1)[0]
    assert ctx.items[1].prediction.probabilities == pytest.approx(ref.probabilities)

    def analyze_oom(m, *a, **k):
        if m.device.type == "cuda":
            raise torch.cuda.OutOfMemoryError(OOM_TEXT)
        return real_analyze(m, *a, **k)

    monkeypatch.setattr(compute, "analyze", analyze_oom)
    monkeypatch.setattr(
        compute,
        "classify",
        lambda m, images, **kw: real_classify(tiny_model if m is gpu else m, images, **kw),
    )
    req = jobs.MapRequest(paths[0], TargetChoice("predicted"), [default_params("medgrad")])
    res = jobs.compute_maps(req)(_Ctx(gpu))
    assert res.note and "computed on the CPU" in res.note
    assert res.maps["medgrad"].image_map.shape == (48, 64)


# ------------------------------------------------------------------ cancelling


def test_cancel_during_predictions_leaves_consistent_entries(tiny_model, tmp_path: Path, app_settings):
    """Cancel the app's batch after a few images: each entry is either complete or untouched, and
    running again completes the rest with the same results an uninterrupted run gives."""
    pytest.importorskip("PySide6")
    from medgrad_desktop.testing.waiting import wait_until
    from medgrad_desktop.ui.main_window import MainWindow
    from medgrad_desktop.ui.qt_application import make_app

    paths = _images(tmp_path / "imgs", 24)
    app = make_app()
    win = MainWindow(settings=app_settings, model_factory=lambda _w, _d: tiny_model)
    try:
        assert wait_until(lambda: win.app.model is not None, 60, app)
        win.app.open_folder(tmp_path / "imgs")
        handle = win.app.predictions.handle
        assert handle is not None
        arrived: list = []

        def on_item(item):
            arrived.append(item)
            if len(arrived) == 3:
                handle.cancel()

        handle.item.connect(on_item)
        assert wait_until(lambda: handle.is_finished, 120, app)
        assert handle.state == "cancelled"
        done = [e for e in win.app.entries if e.done]
        assert 3 <= len(done) < len(paths), "the cancel took effect part-way"
        for e in win.app.entries:
            if e.prediction is not None:
                assert e.error is None and e.sha256 and e.thumbnail is not None and e.size == (64, 48)
            else:
                assert e.sha256 is None and e.thumbnail is None and e.error is None, "half-filled entry"
        assert "Cancelled" in win.statusBar().currentMessage()
        win.app.start_predictions()
        assert wait_until(lambda: all(e.done for e in win.app.entries), 120, app)
        from medgrad_desktop.core.classify import classify

        for e in win.app.entries:
            ref = classify(tiny_model, [np.asarray(Image.open(e.path).convert("RGB"))], batch_size=1)[0]
            assert e.prediction.probabilities == pytest.approx(ref.probabilities, abs=1e-6), e.name
    finally:
        win.shutdown()
        win.close()
        app.processEvents()


def _report_files(out: Path) -> dict[str, bytes]:
    return {str(p.relative_to(out)): p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def export_setup(tmp_path_factory, tiny_model):
    from medgrad_desktop.reports.export import export_report
    from medgrad_desktop.reports.request import ReportRequest

    base = tmp_path_factory.mktemp("export")
    paths = _images(base / "imgs", 3)
    calls = {"n": 0}

    def count():
        calls["n"] += 1

    export_report(
        ReportRequest(
            paths, [default_params("medgrad")], base / "full", formats=("csv", "html", "png", "pdf")
        ),
        tiny_model,
        checkpoint=count,
    )
    return paths, calls["n"], base


@pytest.mark.parametrize("where", [0.0, 0.3, 0.6, 0.9, 1.0])
def test_cancel_during_export_leaves_nothing_and_keeps_the_old_report(
    export_setup, tiny_model, tmp_path, where
):
    """Cancel at a checkpoint from the first image to just before publishing; with an earlier report
    in the folder and overwriting allowed, the earlier report must survive byte for byte."""
    from medgrad_desktop.reports.export import export_report
    from medgrad_desktop.reports.request import ReportRequest

    paths, n_checks, base = export_setup
    out = tmp_path / "out"
    out.mkdir()
    (out / "report.csv").write_text("the earlier report\n")
    before = _report_files(out)
    stop_at = min(n_checks, max(1, round(where * n_checks)))
    calls = {"n": 0}

    def checkpoint():
        calls["n"] += 1
        if calls["n"] >= stop_at:
            raise Cancelled()

    with pytest.raises(Cancelled):
        export_report(
            ReportRequest(
                paths, [default_params("medgrad")], out, formats=("csv", "html", "png", "pdf"), force=True
            ),
            tiny_model,
            checkpoint=checkpoint,
        )
    assert _report_files(out) == before
    assert sorted(p.name for p in out.iterdir()) == ["report.csv"], "no staging folder left"
    from medgrad_desktop.audit import read_events

    # other test processes may share the data folder: look for this export's event, not the last line
    assert any(
        e["event"] == "export_cancelled" and e.get("out_dir") == str(out) for e in read_events()[-200:]
    )


# ------------------------------------------------------------------ full disk


class _FullDiskFile:
    """A file object whose writes fail with ENOSPC once a shared byte budget is spent."""

    def __init__(self, f, budget: list[int]):
        self._f, self._budget = f, budget

    def write(self, data):
        n = len(data)
        if n > self._budget[0]:
            self._f.write(data[: self._budget[0]])  # a real disk takes what fits first
            self._budget[0] = 0
            raise OSError(errno.ENOSPC, "No space left on device")
        self._budget[0] -= n
        return self._f.write(data)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self._f.close()

    def __iter__(self):
        return iter(self._f)

    def __getattr__(self, name):
        return getattr(self._f, name)


@pytest.mark.parametrize("fmt", ["csv", "html", "png"])
@pytest.mark.parametrize("budget", [0, 2000, 60000])
def test_full_disk_during_export_leaves_no_partial_file(
    export_setup, tiny_model, tmp_path, monkeypatch, fmt, budget
):
    from medgrad_desktop.reports import ReportFailed
    from medgrad_desktop.reports.export import export_report
    from medgrad_desktop.reports.request import ReportRequest

    paths, _, _ = export_setup
    out = tmp_path / "out"
    real_open = builtins.open
    left = [budget]

    def open_on_small_disk(file, mode="r", *a, **k):
        f = real_open(file, mode, *a, **k)
        inside = isinstance(file, (str, os.PathLike)) and str(Path(file).resolve()).startswith(
            str(out.resolve())
        )
        if inside and any(c in mode for c in "wax+"):
            return _FullDiskFile(f, left)
        return f

    real_write = os.write

    def write_on_small_disk(fd, data):
        """Files created with their mode (atomic.write_new) are written with os.write, below open()."""
        try:
            inside = os.readlink(f"/proc/self/fd/{fd}").startswith(str(out.resolve()))
        except OSError:
            inside = False
        if inside:
            if len(data) > left[0]:
                left[0] = 0
                raise OSError(errno.ENOSPC, "No space left on device")
            left[0] -= len(data)
        return real_write(fd, data)

    monkeypatch.setattr(builtins, "open", open_on_small_disk)
    monkeypatch.setattr(io, "open", open_on_small_disk)
    if Path("/proc/self/fd").is_dir():
        monkeypatch.setattr(os, "write", write_on_small_disk)
    with pytest.raises((ReportFailed, OSError)) as info:
        export_report(ReportRequest(paths, [default_params("medgrad")], out, formats=(fmt,)), tiny_model)
    monkeypatch.undo()
    assert "No space left" in str(info.value) or "ENOSPC" in str(info.value), str(info.value)
    assert list(out.iterdir()) == [], "a partial file or staging folder was left"


def test_file_size_limit_during_pdf_export_leaves_no_partial_pdf(tmp_path: Path):
    """The PDF is written by Qt in C++, below Python's open(): a real RLIMIT_FSIZE makes its writes
    fail. Qt does not report it, so the export must notice the cut-short PDF itself."""
    resource = pytest.importorskip("resource")
    folder = tmp_path / "imgs"
    _images(folder, 3, size=(300, 400))
    out = tmp_path / "rep"
    script = (
        "import resource, signal, sys\n"
        "signal.signal(signal.SIGXFSZ, signal.SIG_IGN)\n"
        f"resource.setrlimit(resource.RLIMIT_FSIZE, ({400_000}, {400_000}))\n"
        "from medgrad_desktop.cli import main\n"
        "sys.exit(main(sys.argv[1:]))\n"
    )
    env = dict(
        os.environ, QT_QPA_PLATFORM="offscreen", MEDGRAD_DATA_DIR=str(tmp_path / "data"), OMP_NUM_THREADS="1"
    )
    r = subprocess.run(
        [
            sys.executable,
            "-c",
            script,
            "report",
            str(folder),
            "--out",
            str(out),
            "--format",
            "pdf",
            "--random-init",
            "--arch",
            "MedGrad-Tiny",
            "--device",
            "cpu",
        ],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=300,
    )
    assert resource.RLIMIT_FSIZE  # the limit exists on this platform
    left = sorted(p.name for p in out.iterdir()) if out.exists() else []
    if r.returncode == 0:  # only acceptable if the PDF really fitted under the limit and is complete
        import pypdf

        assert len(pypdf.PdfReader(out / "report.pdf").pages) >= 4
    else:
        assert left == [], f"partial output left: {left}"
        assert "no report was written" in r.stderr and "the PDF was cut short" in r.stderr, r.stderr[-1500:]


# ------------------------------------------------------------------ the app's export dialog


def _window_with_folder(tmp_path: Path, tiny_model, n: int, app_settings):
    from medgrad_desktop.testing.waiting import wait_until
    from medgrad_desktop.ui.main_window import MainWindow
    from medgrad_desktop.ui.qt_application import make_app

    _images(tmp_path / "imgs", n)
    app = make_app()
    win = MainWindow(settings=app_settings, model_factory=lambda _w, _d: tiny_model)
    assert wait_until(lambda: win.app.model is not None, 60, app)
    win.app.open_folder(tmp_path / "imgs")
    assert wait_until(lambda: all(e.done for e in win.app.entries), 120, app)
    return app, win


def test_app_export_cancel_and_full_disk(tiny_model, tmp_path: Path, monkeypatch, app_settings):
    """Through the export dialog and the app's worker: Cancel part-way leaves no file; a full disk
    gives 'Export failed, nothing was written' and no file; the app then still exports."""
    pytest.importorskip("PySide6")
    from medgrad_desktop.testing.waiting import wait_until
    from medgrad_desktop.ui.dialogs.export_dialog import ExportDialog

    app, win = _window_with_folder(tmp_path, tiny_model, 6, app_settings)
    out = tmp_path / "out"
    try:
        dlg = ExportDialog(win.app, win.worker, win)
        dlg.set_scope("folder")
        dlg.dir_edit.setText(str(out))
        assert dlg.start(), dlg.error_message
        handle = dlg.handle
        handle.progress.connect(lambda done, _t, _e: dlg.reject() if done >= 1 else None)
        assert wait_until(lambda: handle.is_finished, 120, app)
        assert handle.state == "cancelled" and "nothing was written" in dlg.status.text()
        assert not out.exists() or list(out.iterdir()) == []

        real_open = builtins.open

        def full(file, mode="r", *a, **k):
            f = real_open(file, mode, *a, **k)
            inside = isinstance(file, (str, os.PathLike)) and str(Path(file).resolve()).startswith(
                str(out.resolve())
            )
            return _FullDiskFile(f, [0]) if inside and any(c in mode for c in "wax+") else f

        monkeypatch.setattr(builtins, "open", full)
        monkeypatch.setattr(io, "open", full)
        assert dlg.start()
        assert wait_until(lambda: dlg.handle.is_finished, 120, app)
        monkeypatch.undo()
        assert dlg.handle.state == "failed"
        assert (
            "Export failed, nothing was written" in dlg.error_message and "No space left" in dlg.error_message
        )
        assert list(out.iterdir()) == []

        assert dlg.start()
        assert wait_until(lambda: dlg.handle.is_finished, 120, app)
        assert dlg.handle.state == "done" and dlg.result is not None
        assert {p.name for p in out.iterdir()} >= {"report.pdf", "report.html", "report.csv"}
    finally:
        win.shutdown()
        win.close()
        app.processEvents()


def test_cli_predict_falls_back_on_oom(tmp_path: Path, capsys, monkeypatch):
    import json

    import medgrad_desktop.core.classify as classify_mod  # `medgrad predict` imports it when it runs
    from medgrad_desktop.cli import main

    _images(tmp_path, 3)
    real = classify_mod.classify
    calls = {"n": 0}

    def oom_once(m, images, **kw):
        calls["n"] += 1
        if calls["n"] == 1:
            raise torch.cuda.OutOfMemoryError(OOM_TEXT)
        return real(m, images, **kw)

    monkeypatch.setattr(classify_mod, "classify", oom_once)
    assert (
        main(
            ["predict", str(tmp_path), "--json", "--random-init", "--arch", "MedGrad-Tiny", "--device", "cpu"]
        )
        == 0
    )
    out = capsys.readouterr()
    assert "warning: img00.png, img01.png, img02.png: the GPU ran out of memory" in out.err
    rows = json.loads(out.out)["results"]
    assert len(rows) == 3 and all(r.get("predicted") for r in rows)


def test_report_and_explain_fall_back_on_oom(tmp_path: Path, tiny_model, capsys, monkeypatch, caplog):
    import csv

    import medgrad_desktop.core.explain as explain_mod  # `medgrad explain` imports it when it runs
    import medgrad_desktop.reports.builder as builder
    from medgrad_desktop.cli import main
    from medgrad_desktop.reports.export import export_report
    from medgrad_desktop.reports.request import ReportRequest

    paths = _images(tmp_path / "imgs", 3)
    real = builder.analyze_batch
    calls = {"n": 0}

    def oom_on_second(m, *a, **k):
        calls["n"] += 1
        if calls["n"] == 2:
            raise torch.cuda.OutOfMemoryError(OOM_TEXT)
        return real(m, *a, **k)

    monkeypatch.setattr(builder, "analyze_batch", oom_on_second)
    with caplog.at_level("WARNING"):
        res = export_report(
            ReportRequest(paths, [default_params("medgrad")], tmp_path / "rep", formats=("csv",)), tiny_model
        )
    assert any("IMG-0002: the GPU ran out of memory" in r.message for r in caplog.records)
    with open(res.outputs[0], encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    assert [bool(r["predicted_id"]) for r in rows] == [True, True, True] and not res.errors

    real_explain = explain_mod.analyze
    ex_calls = {"n": 0}

    def oom_on_maps(m, rgb, targets, params, *a, **k):
        ex_calls["n"] += 1
        if params and ex_calls["n"] == 2:
            raise torch.cuda.OutOfMemoryError(OOM_TEXT)
        return real_explain(m, rgb, targets, params, *a, **k)

    monkeypatch.setattr(explain_mod, "analyze", oom_on_maps)
    assert (
        main(
            [
                "explain",
                str(paths[0]),
                "--out",
                str(tmp_path / "maps"),
                "--random-init",
                "--arch",
                "MedGrad-Tiny",
                "--device",
                "cpu",
            ]
        )
        == 0
    )
    assert "warning: img00.png: the GPU ran out of memory" in capsys.readouterr().err
    assert len(list((tmp_path / "maps").glob("*.png"))) == 3
