"""No network, ever: the CLI (predict, explain, report) and the app's self-test path run with socket
creation made to fail, and a Python audit hook records any socket a library tried to open and then
swallowed the error of. A CLI run inside a network namespace without interfaces (`unshare -n`) must
succeed too, where the machine allows it."""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

ROOT = Path(__file__).resolve().parents[2]
TINY = ["--random-init", "--arch", "MedGrad-Tiny", "--device", "cpu"]
_AUDIT = {"active": False, "events": []}
_NET_EVENTS = (
    "socket.__new__",
    "socket.connect",
    "socket.getaddrinfo",
    "socket.gethostbyname",
    "socket.bind",
    "socket.sendto",
    "urllib.Request",
    "http.client.connect",
)


def _audit(event: str, args) -> None:
    if _AUDIT["active"] and event in _NET_EVENTS:
        _AUDIT["events"].append((event, repr(args)[:120]))


sys.addaudithook(_audit)  # cannot be removed; it records only while a test sets "active"


class _NoSocket:
    def __init__(self, *a, **k):
        raise OSError(101, "Network is unreachable (socket creation blocked by the test)")


@pytest.fixture
def no_network(monkeypatch):
    """Socket creation and name lookup fail; every attempt is recorded by the audit hook."""

    def refuse(*a, **k):
        raise OSError(101, "Network is unreachable (blocked by the test)")

    monkeypatch.setattr(socket, "socket", _NoSocket)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    monkeypatch.setattr(socket, "socketpair", refuse)
    _AUDIT["events"].clear()
    _AUDIT["active"] = True
    try:
        yield _AUDIT["events"]
    finally:
        _AUDIT["active"] = False


def _images(folder: Path, n: int = 3) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        rgb = np.random.default_rng(i).integers(0, 256, (40 + i, 50, 3), dtype=np.uint8)
        Image.fromarray(rgb).save(folder / f"img{i}.png")
    return folder


def test_guard_really_blocks_and_records(no_network):
    """The fixture itself: a socket cannot be made, and an attempt is recorded even if swallowed."""
    with pytest.raises(OSError):
        socket.socket()
    import _socket

    with contextlib.suppress(OSError):
        _socket.socket().close()  # below the patch: only the audit hook sees it
    assert any(e == "socket.__new__" for e, _ in no_network)
    no_network.clear()


def test_cli_predict_explain_report_without_network(tmp_path: Path, no_network, capsys):
    from medgrad_desktop.cli import main

    folder = _images(tmp_path / "imgs")
    assert main(["predict", str(folder), "--json", *TINY]) == 0
    assert main(["explain", str(folder / "img0.png"), "--out", str(tmp_path / "maps"), *TINY]) == 0
    assert (
        main(["report", str(folder), "--out", str(tmp_path / "rep"), "--format", "csv,html,pdf", *TINY]) == 0
    )
    capsys.readouterr()
    assert (tmp_path / "rep" / "report.pdf").stat().st_size > 0
    assert len(list((tmp_path / "maps").glob("*.png"))) == 3
    assert no_network == [], f"a socket was attempted: {no_network[:3]}"


def test_demo_model_load_without_network(no_network):
    """The default model (the bundled demo, or the app's untrained fallback) never reaches for a hub."""
    from medgrad_desktop.core.model import ModelLoadError, load_model
    from medgrad_desktop.ui.work.compute import default_model_factory

    try:
        load_model(None, device="cpu")
    except ModelLoadError as exc:
        assert "demo model is missing" in str(exc)
    clip = default_model_factory("", "cpu")
    assert clip.card is not None
    with pytest.raises(ModelLoadError, match="network is never used"):
        load_model("hf-hub:someone/not-cached-model", device="cpu")
    assert no_network == [], f"a socket was attempted: {no_network[:3]}"


def test_app_self_test_path_without_network(tmp_path: Path, no_network, monkeypatch):
    """The same code `main.py --self-test` runs: the real window, model, predictions and one map of
    each method, all with sockets blocked."""
    pytest.importorskip("PySide6")
    from medgrad_desktop.ui.selftest.runner import run_self_test

    monkeypatch.setenv("HOME", str(tmp_path))  # QSettings/recent folders of the test, not the user's
    folder = _images(tmp_path / "imgs", 2)
    assert run_self_test(folder, timeout_s=240) == 0
    assert no_network == [], f"a socket was attempted: {no_network[:3]}"


def _unshare_available() -> str | None:
    exe = shutil.which("unshare")
    if exe is None:
        return "unshare(1) is not installed"
    probe = subprocess.run([exe, "-n", "true"], capture_output=True, text=True)
    if probe.returncode != 0:
        return f"unshare -n is not permitted here ({probe.stderr.strip()[:100]})"
    return None


def test_cli_in_network_namespace_without_interfaces(tmp_path: Path):
    why = _unshare_available()
    if why:
        pytest.skip(why)
    folder = _images(tmp_path / "imgs", 2)
    env = dict(
        os.environ, QT_QPA_PLATFORM="offscreen", MEDGRAD_DATA_DIR=str(tmp_path / "data"), OMP_NUM_THREADS="1"
    )
    probe = subprocess.run(
        [
            "unshare",
            "-n",
            sys.executable,
            "-c",
            "import socket; socket.create_connection(('1.1.1.1', 53), timeout=2)",
        ],
        capture_output=True,
        text=True,
        env=env,
    )
    assert probe.returncode != 0, "the namespace still has a route out; the test would prove nothing"
    out = tmp_path / "rep"
    cmd = ["unshare", "-n", sys.executable, "-m", "medgrad_desktop.cli"]
    r = subprocess.run(
        [*cmd, "predict", str(folder), "--json", *TINY],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=300,
    )
    assert r.returncode == 0, r.stderr[-2000:]
    assert '"predicted"' in r.stdout
    r = subprocess.run(
        [*cmd, "report", str(folder), "--out", str(out), "--format", "csv,pdf", *TINY],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=300,
    )
    assert r.returncode == 0, r.stderr[-2000:]
    assert (out / "report.csv").exists() and (out / "report.pdf").exists()


def test_app_self_test_in_network_namespace(tmp_path: Path):
    """`main.py --self-test` (the real window offscreen, model, predictions, a map of each method) in a
    namespace without interfaces: this also covers anything Qt would do in C++, below Python's hook."""
    why = _unshare_available()
    if why:
        pytest.skip(why)
    folder = _images(tmp_path / "imgs", 2)
    env = dict(
        os.environ,
        QT_QPA_PLATFORM="offscreen",
        MEDGRAD_DATA_DIR=str(tmp_path / "data"),
        HOME=str(tmp_path),
        XDG_CONFIG_HOME=str(tmp_path / "config"),
        OMP_NUM_THREADS="1",
    )
    r = subprocess.run(
        ["unshare", "-n", sys.executable, "main.py", str(folder), "--self-test", "--timeout", "240"],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=300,
    )
    assert r.returncode == 0, (r.stdout[-1500:], r.stderr[-1500:])
    assert "self-test passed" in r.stdout
