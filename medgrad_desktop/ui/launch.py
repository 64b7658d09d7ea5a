"""Start the GUI: `python main.py [FOLDER] [--self-test]`.

The window comes first: nothing imported here pulls in torch or open_clip, so the window and the
folder's thumbnails are on screen in about a second; the worker imports torch and loads the model
behind it, with its progress in the status bar (see `medgrad_desktop.ui.work.worker`).

The log comes before everything else (`medgrad_desktop.applog`): a failure while starting, before any
window exists, is written there with its traceback, and told in one line on standard error with the
log's path. From then on every uncaught exception goes through `medgrad_desktop.errors`.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
from pathlib import Path

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QMessageBox

from medgrad_desktop import __version__, applog, errors
from medgrad_desktop.applog import LEVELS
from medgrad_desktop.resources_path import demo_dir
from medgrad_desktop.ui.main_window import MainWindow
from medgrad_desktop.ui.qt_application import make_app
from medgrad_desktop.ui.selftest.runner import run_self_test
from medgrad_desktop.ui.work.worker import WorkerSettings

TORCH_AFTER_MS = 150


def parse_args(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="main.py",
        description="MedGrad Desktop: explainable skin-lesion review (research use only, not for diagnosis).",
    )
    p.add_argument("folder", nargs="?", help="folder of images to open (default: the last folder)")
    p.add_argument(
        "--self-test",
        action="store_true",
        help="start the real window offscreen on the demo folder (or FOLDER), wait for predictions "
        "and one map of each method, check them and exit 0, or non-zero with a message",
    )
    p.add_argument("--timeout", type=float, default=300.0, help="self-test time limit in seconds")
    p.add_argument(
        "--log-level",
        choices=LEVELS,
        default="info",
        type=str.lower,
        help="how much the log file (Help > Show log) records (default: info)",
    )
    p.add_argument("--version", action="version", version=f"MedGrad Desktop {__version__}")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    applog.configure()  # first: whatever fails from here on is in the log
    errors.install_hooks()
    args = parse_args(sys.argv[1:] if argv is None else argv)
    applog.configure(args.log_level)
    try:
        return _run(args)
    except Exception as exc:  # noqa: BLE001 - a failed start is logged and told, not a bare traceback
        errors.report(exc, "starting MedGrad Desktop")
        _tell_startup_failure(f"{type(exc).__name__}: {exc}")
        return 1


def _tell_startup_failure(cause: str) -> None:
    """One line on standard error and, where there is a screen (a double-clicked app has no console),
    a message box: the window never came, so this is the only way to say why."""
    text = f"MedGrad Desktop could not start ({cause}). Details: {applog.log_path()}"
    print(text, file=sys.stderr)
    try:
        app = make_app()
        if app.platformName() != "offscreen":
            QMessageBox.critical(None, "MedGrad Desktop could not start", text)
    except Exception:  # Qt itself may be what failed; the line above and the log remain
        logging.getLogger(__name__).exception("could not show the startup failure")


def _run(args: argparse.Namespace) -> int:
    if args.self_test:
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")  # read when the QApplication is made
        return run_self_test(Path(args.folder) if args.folder else demo_dir(), timeout_s=args.timeout)
    app = make_app()
    worker_settings = WorkerSettings(
        # leave one core to the UI thread so painting never queues behind the model's intra-op threads
        torch_threads=max(1, (os.cpu_count() or 2) - 1),
        # the window's first frames and the first thumbnails before torch's import takes the interpreter lock
        defer_compute=True,
    )
    window = MainWindow(worker_settings=worker_settings)
    window.show()
    _close_on_interrupt(window)
    folder = args.folder or window.settings.last_folder
    if folder:
        window.app.open_folder(folder)
    QTimer.singleShot(TORCH_AFTER_MS, window.worker.allow_compute)
    return app.exec()


def _close_on_interrupt(window: MainWindow) -> None:
    """Ctrl+C in the terminal closes the window properly (settings saved, worker stopped); the timer
    gives Python a moment every 200 ms to notice the signal while Qt's event loop runs."""
    signal.signal(signal.SIGINT, lambda *_: window.close())
    timer = QTimer(window)
    timer.timeout.connect(lambda: None)
    timer.start(200)
