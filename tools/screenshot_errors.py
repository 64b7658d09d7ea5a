"""Write docs/screenshots/error-message.png and docs/screenshots/log-viewer.png: the real main window on
the demo folder after an unexpected error in a worker job (the non-modal message over the window), and
Help > Show log with that error's traceback.

Run it under a display server, so the message box is drawn by a window manager-less X server as a
user would see it over the window:
    xvfb-run -a -s "-screen 0 1920x1080x24" .venv/bin/python tools/screenshot_errors.py
The data folder and settings are temporary: nothing of the user's is read or written.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=str(ROOT / "docs" / "screenshots"))
    ap.add_argument("--timeout", type=float, default=600)
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="medgrad-shots-"))
    os.environ["MEDGRAD_DATA_DIR"] = str(tmp / "data")

    from PySide6.QtWidgets import QApplication, QMessageBox

    from medgrad_desktop import applog, errors
    from medgrad_desktop.resources_path import demo_dir
    from medgrad_desktop.testing.waiting import wait_until
    from medgrad_desktop.ui.main_window import MainWindow
    from medgrad_desktop.ui.qt_application import make_app
    from medgrad_desktop.ui.state.settings import AppSettings

    applog.configure()  # as main() does
    errors.install_hooks()
    app = make_app()
    win = MainWindow(settings=AppSettings.at(tmp / "settings.ini"))
    win.resize(1400, 860)
    win.move(20, 20)
    win.show()
    win.app.open_folder(demo_dir())
    if not wait_until(lambda: win.app.entries and all(e.done for e in win.app.entries), args.timeout, app):
        print("the predictions did not arrive in time", file=sys.stderr)
        return 1
    win.app.select(5)
    wait_until(lambda: win.viewers.viewer.map_values is not None, 60, app)

    def failing_export(ctx):
        raise RuntimeError("simulated failure for the screenshot")

    win.worker.submit(failing_export, kind="export")
    if not wait_until(lambda: win.error_messages.shown == 1, 30, app):
        print("no message was shown", file=sys.stderr)
        return 1
    box = next(w for w in app.topLevelWidgets() if isinstance(w, QMessageBox) and w.isVisible())
    box.move(win.x() + (win.width() - box.width()) // 2, win.y() + 260)
    wait_until(lambda: False, 1.0, app)  # let both paint
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    screen = QApplication.primaryScreen()
    frame = win.frameGeometry()
    screen.grabWindow(0, frame.x(), frame.y(), frame.width(), frame.height()).save(
        str(out / "error-message.png")
    )
    box.close()
    viewer = win.menus.show_log()
    viewer.move(win.x() + 200, win.y() + 120)
    wait_until(lambda: False, 1.0, app)
    viewer.grab().save(str(out / "log-viewer.png"))
    print(f"wrote {out / 'error-message.png'} and {out / 'log-viewer.png'}")
    win.close()
    applog.close()
    shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
