"""Every unexpected error is caught, logged privately and shown once, and the app goes on: an exception
in a Qt slot, in a worker job and in a plain thread each reach the one handler (`medgrad_desktop.errors`),
land in the log file with their traceback, show one non-modal message, and the window keeps answering.
The log is written from main()'s first line: the self-test's run and a failed start are in it."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from PySide6.QtWidgets import QApplication, QMessageBox, QPushButton

from medgrad_desktop import applog, errors
from medgrad_desktop.testing.sample_images import write_sample_folder
from medgrad_desktop.ui.dialogs.error_message import TITLE, message_text
from medgrad_desktop.ui.launch import parse_args

ROOT = Path(__file__).resolve().parents[2]
WAIT = 30_000
# the app's own hooks take the uncaught exceptions here, as they do in main()
pytestmark = pytest.mark.qt_no_exception_capture


@pytest.fixture
def app_log(monkeypatch, data_dir):
    """The app's log in this test's data folder and the app's hooks, as main() sets them; undone after."""
    monkeypatch.setattr(sys, "excepthook", sys.excepthook)
    monkeypatch.setattr(threading, "excepthook", threading.excepthook)
    monkeypatch.setattr(errors, "_last_shown", {})
    errors.install_hooks()
    path = applog.configure(console=False)
    yield path
    applog.close()
    errors.set_listener(None)


def _boxes() -> list[QMessageBox]:
    return [w for w in QApplication.topLevelWidgets() if isinstance(w, QMessageBox) and w.isVisible()]


def _shows_one_message(qtbot, win, action: str) -> QMessageBox:
    qtbot.waitUntil(lambda: win.error_messages.shown == 1, timeout=WAIT)
    qtbot.wait(200)  # a second message would be queued by now
    # this window's messages: a window an earlier test left open may still show its own
    boxes = [b for b in _boxes() if b.windowTitle() == TITLE and b.parentWidget() is win]
    assert win.error_messages.shown == 1 and len(boxes) == 1
    assert boxes[0].text() == message_text(action)
    assert not boxes[0].isModal()  # the window behind it stays usable
    return boxes[0]


def _in_log(path: Path, *needles: str) -> str:
    text = path.read_text(encoding="utf-8")
    assert "Traceback (most recent call last)" in text
    for n in needles:
        assert n in text, n
    return text


def _still_answers(qtbot, win) -> None:
    """The UI thread handles input and the worker runs jobs, as before the error."""
    win.app.set_opacity(0.3)
    assert win.menus.opacity_slider.value() == 30
    job = win.worker.submit(lambda ctx: 42, kind="probe")
    with qtbot.waitSignal(job.result, timeout=WAIT) as got:
        pass
    assert got.args == [42]


def test_an_exception_in_a_slot_is_logged_shown_once_and_the_app_goes_on(qtbot, make_window, app_log):
    win = make_window()
    button = QPushButton("boom", win)

    def broken_slot() -> None:
        raise RuntimeError("a slot failed on purpose")

    button.clicked.connect(broken_slot)
    button.click()
    button.click()  # the same error again, seconds later: no second message
    box = _shows_one_message(qtbot, win, "responding to your last action")
    text = _in_log(app_log, "RuntimeError: a slot failed on purpose", "in broken_slot")
    assert text.count("RuntimeError: a slot failed on purpose") == 2  # each one logged
    _still_answers(qtbot, win)
    box.close()


def test_an_exception_in_a_worker_job_is_logged_shown_once_and_the_app_goes_on(qtbot, make_window, app_log):
    win = make_window()
    errors_seen: list[str] = []

    def broken_job(ctx):
        raise KeyError("a job failed on purpose")

    for _ in range(2):
        job = win.worker.submit(broken_job, kind="export")
        job.error.connect(errors_seen.append)
        with qtbot.waitSignal(job.finished, timeout=WAIT):
            pass
    assert len(errors_seen) == 2  # the job's own caller still hears of it
    _shows_one_message(qtbot, win, "exporting a report")
    _in_log(app_log, "KeyError: 'a job failed on purpose'", "while exporting a report", "in broken_job")
    _still_answers(qtbot, win)


def test_an_exception_in_a_plain_thread_is_logged_shown_once_and_the_app_goes_on(qtbot, make_window, app_log):
    win = make_window()

    def broken_thread() -> None:
        raise ValueError("a thread failed on purpose")

    t = threading.Thread(target=broken_thread, name="helper")
    t.start()
    t.join()
    _shows_one_message(qtbot, win, "working in the background (helper)")
    _in_log(app_log, "ValueError: a thread failed on purpose", "in broken_thread")
    _still_answers(qtbot, win)


def test_the_log_is_private_has_a_header_and_the_help_menu_shows_and_copies(qtbot, make_window, app_log):
    win = make_window()
    assert stat.S_IMODE(os.stat(app_log).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(app_log.parent).st_mode) == 0o700
    text = app_log.read_text()
    assert applog.RUN_MARK in text and "platform:" in text
    assert f"weights SHA-256 {win.app.model.card.weights_sha256}" in text  # logged once it loaded
    errors.report(OSError("/data/Doe_Jane_back.dcm: unreadable"), "opening the folder")
    viewer = win.menus.show_log()
    qtbot.addWidget(viewer)
    assert "while opening the folder" in viewer.text.toPlainText() and not viewer.isModal()
    summary = win.menus.copy_diagnostics()
    assert QApplication.clipboard().text() == summary
    assert "MedGrad Desktop" in summary and win.app.model.card.weights_sha256 in summary
    assert "OSError while opening the folder" in summary
    assert "Doe_Jane" not in summary  # an error's message may name a patient: never in the summary


def test_log_level_on_the_command_line(app_log):
    assert parse_args(["--log-level", "DEBUG"]).log_level == "debug"
    assert parse_args([]).log_level == "info"
    with pytest.raises(SystemExit):
        parse_args(["--log-level", "loud"])
    applog.configure("debug")
    import logging

    logging.getLogger("medgrad_desktop.probe").debug("a debug line")
    applog.configure("info")
    logging.getLogger("medgrad_desktop.probe").debug("a hidden line")
    text = app_log.read_text()
    assert "a debug line" in text and "a hidden line" not in text


def _main(tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(ROOT / "main.py"), *args],
        cwd=ROOT,
        env={
            **os.environ,
            "QT_QPA_PLATFORM": "offscreen",
            "MEDGRAD_DATA_DIR": str(tmp_path / "data"),
            "XDG_CONFIG_HOME": str(tmp_path / "config"),
            **env,
        },
        capture_output=True,
        text=True,
        timeout=600,
    )


def test_the_self_test_writes_the_log(tmp_path):
    write_sample_folder(tmp_path / "imgs", 2)
    run = _main(tmp_path, "--self-test", str(tmp_path / "imgs"))
    assert run.returncode == 0, run.stderr[-3000:]
    log = tmp_path / "data" / "logs" / applog.LOG_NAME
    text = log.read_text()
    assert applog.RUN_MARK in text and "model: " in text and "self-test passed" in text
    assert stat.S_IMODE(log.stat().st_mode) == 0o600


def test_a_failed_start_is_in_the_log(tmp_path):
    """A settings file that cannot be used (here a folder where the file belongs) stops the start:
    the log has the error and its traceback, standard error says where the log is."""
    (tmp_path / "config" / "MedGrad" / "MedGrad Desktop.conf").mkdir(parents=True)
    run = _main(tmp_path)
    assert run.returncode == 1
    log = tmp_path / "data" / "logs" / applog.LOG_NAME
    assert f"details: {log}".lower() in run.stderr.lower()
    text = _in_log(log, "while starting MedGrad Desktop", "IsADirectoryError", "MedGrad Desktop.conf")
    assert text.index(applog.RUN_MARK) < text.index("IsADirectoryError")
