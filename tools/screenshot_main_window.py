"""Write docs/screenshots/main-window.png: the real main window on the demo folder with overlays
(by default the three methods side by side for the sixth demo image, as in the README).

Run it under a display server, as CI does:
    xvfb-run -a -s "-screen 0 1920x1080x24" .venv/bin/python tools/screenshot_main_window.py
(`QT_QPA_PLATFORM=offscreen` works too). The README's set: `--size 1280x800` and `--size 1024x640`, each
with and without `--single`, `--review 3` (accepts three images with the A key first, so the review
badges show) and `--text "blue-whitish veil"` (a typed target). Without the demo images it falls back to the HAM10000 sample
in ../shared/data, then to drawn blob images, and says so, so a missing demo is never hidden.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def pick_folder(requested: str | None, tmp: Path) -> Path:
    from medgrad_desktop.core.imageio import list_images
    from medgrad_desktop.resources_path import demo_dir
    from medgrad_desktop.testing.sample_images import write_sample_folder

    if requested:
        return Path(requested)
    if list_images(demo_dir()):
        return demo_dir()
    ham = ROOT.parent / "shared" / "data" / "ham10000-sample" / "images"
    if list_images(ham):
        print(f"note: no demo images in {demo_dir()}; using the HAM10000 sample {ham}", file=sys.stderr)
        return ham
    print("note: no demo images; using drawn blob images", file=sys.stderr)
    write_sample_folder(tmp / "samples", 12)
    return tmp / "samples"


def main() -> int:
    from medgrad_desktop.core.method_params import METHODS, OPENING_METHOD

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--folder", help="folder to open (default: the demo folder)")
    ap.add_argument("--out", default=str(ROOT / "docs" / "screenshots" / "main-window.png"))
    ap.add_argument("--method", default=OPENING_METHOD, choices=list(METHODS), help="default: the app's")
    ap.add_argument("--row", type=int, default=5, help="which analysed image to show (the README's: 5)")
    ap.add_argument("--size", default="1800x1000")
    ap.add_argument("--timeout", type=float, default=600)
    ap.add_argument("--single", action="store_true", help="one method instead of the three side by side")
    ap.add_argument("--text", default="", help="explain this typed text instead of the predicted class")
    ap.add_argument(
        "--review",
        type=int,
        default=0,
        help="accept the first N images with the A key first (shows the review badges)",
    )
    args = ap.parse_args()

    from PySide6.QtCore import Qt
    from PySide6.QtTest import QTest

    from medgrad_desktop.testing.waiting import wait_until
    from medgrad_desktop.ui.main_window import MainWindow
    from medgrad_desktop.ui.qt_application import make_app
    from medgrad_desktop.ui.state.settings import AppSettings

    app = make_app()
    tmp = Path(tempfile.mkdtemp(prefix="medgrad-shot-"))
    folder = pick_folder(args.folder, tmp)
    settings = AppSettings.at(tmp / "settings.ini")
    settings.method = args.method
    settings.opacity = 45
    if args.review:
        settings.reviewer_name = "Dr Demo"  # else the first decision asks for a name, and --review stalls
    win = MainWindow(settings=settings)
    w, h = (int(x) for x in args.size.split("x"))
    win.resize(w, h)
    win.show()
    if not wait_until(lambda: win.app.model is not None or bool(win.app.model_error), args.timeout, app):
        print("error: the model did not load", file=sys.stderr)
        return 1
    win.app.open_folder(folder)
    wait_until(lambda: all(e.done for e in win.app.entries), args.timeout, app)
    rows = [i for i, e in enumerate(win.app.entries) if e.prediction is not None]
    if not rows:
        print("error: no image could be analysed", file=sys.stderr)
        return 1
    if args.review:
        win.browser.grid.setFocus()
        for _ in range(args.review):
            QTest.keyClick(win.browser.grid, Qt.Key.Key_A)
    win.app.select(rows[min(args.row, len(rows) - 1)])
    if args.text:
        win.target_picker.free_text.setText(args.text)
        win.app.set_free_text_target(args.text)
    viewer = win.viewers.viewer

    def shown(v) -> bool:  # a drawn overlay, or the words that stand in for an empty map
        return (
            v.map_values is not None and v.overlay_item.isVisible()
        ) or "no positive evidence" in v.message.text()

    if not wait_until(lambda: shown(viewer), args.timeout, app):
        print("error: no overlay appeared", file=sys.stderr)
        return 1
    if not args.single:
        win.menus.compare_action.setChecked(True)
        if not wait_until(
            lambda: all(shown(v) for v in win.viewers.compare_viewers.values()),
            args.timeout,
            app,
        ):
            print("error: the comparison maps did not appear", file=sys.stderr)
            return 1
    wait_until(lambda: False, 0.5, app)  # let the last paints land
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    if not win.grab().save(str(out)):
        print(f"error: could not write {out}", file=sys.stderr)
        return 1
    print(f"wrote {out} ({win.app.model.card.display_name()}, {folder})")
    win.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
