"""Reopening a folder whose predictions are in the project store: how long until every tile of the
real window shows its prediction (goal: 2 s for 1,000 images), how long until every thumbnail is back
(they are decoded again; no forward pass runs), and the store's size per image.

`python benchmarks/reopen_stored.py [--n 1000] [--append-docs]` prints JSON and, with --append-docs,
writes the "## Reopening a stored folder" section of docs/BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from benchmarks._common import BENCH_DOC, cpu_name, git_commit, write_section  # noqa: E402
from benchmarks.load_1000 import write_images  # noqa: E402

GOAL_S = 2.0


def run(n: int) -> dict:
    tmp = tempfile.TemporaryDirectory(prefix="medgrad-reopen-")
    base = Path(tmp.name)
    os.environ["MEDGRAD_DATA_DIR"] = str(base / "appdata")
    import torch
    from PySide6.QtWidgets import QApplication

    from medgrad_desktop.core.classify import classify
    from medgrad_desktop.core.imageio import load_image
    from medgrad_desktop.core.model import load_model
    from medgrad_desktop.store import ProjectStore
    from medgrad_desktop.ui.main_window import MainWindow
    from medgrad_desktop.ui.state.settings import AppSettings

    torch.set_num_threads(min(2, os.cpu_count() or 1))
    paths = write_images(base / "folder", n)
    clip = load_model(random_init=True, architecture="MedGrad-Tiny", device="cpu", seed=0)
    store = ProjectStore.shared()
    t0 = time.perf_counter()
    for i in range(0, n, 64):  # the first session: every image analysed once and stored
        loaded = [load_image(p) for p in paths[i : i + 64]]
        for im, pred in zip(loaded, classify(clip, [im.rgb for im in loaded]), strict=True):
            store.record_image(im.sha256, im.path, im.size)
            store.put_prediction(im.sha256, pred)
    first_s = time.perf_counter() - t0
    store.checkpoint()
    size = (base / "appdata" / "project.sqlite3").stat().st_size

    qapp = QApplication.instance() or QApplication([])
    win = MainWindow(AppSettings.at(base / "settings.ini"), model_factory=lambda w, d: clip)
    win.show()
    deadline = time.perf_counter() + 60
    while win.app.model is None and time.perf_counter() < deadline:
        qapp.processEvents()
        time.sleep(0.005)
    t0 = time.perf_counter()
    win.app.open_folder(base / "folder")
    qapp.processEvents()  # one round of painting with what the model now holds
    while not all(e.prediction is not None for e in win.app.entries) and time.perf_counter() < deadline:
        qapp.processEvents()
    predictions_s = time.perf_counter() - t0
    while not all(e.thumbnail is not None for e in win.app.entries) and time.perf_counter() < deadline + 300:
        qapp.processEvents()
        time.sleep(0.002)
    thumbnails_s = time.perf_counter() - t0
    shown = sum(e.prediction is not None for e in win.app.entries)
    win.close()
    win.worker.stop()
    tmp.cleanup()
    return {
        "images": n,
        "first_analysis_s": round(first_s, 2),
        "tiles_with_prediction_s": round(predictions_s, 3),
        "tiles_shown": shown,
        "all_thumbnails_s": round(thumbnails_s, 2),
        "store_bytes_per_image": round(size / n),
        "goal_s": GOAL_S,
        "met": predictions_s <= GOAL_S and shown == n,
    }


def section(r: dict) -> str:
    when = datetime.now(UTC).strftime("%Y-%m-%d")
    return (
        f"## Reopening a stored folder\n\n"
        f"`python benchmarks/reopen_stored.py --n {r['images']}`: a folder of {r['images']} small PNGs analysed "
        "once (MedGrad-Tiny, predictions stored in the project store), then opened in the real main window "
        "(offscreen). Timed from `open_folder` until every tile's entry has its prediction (painted in the "
        "same event loop), and until every thumbnail is decoded again (no forward pass runs).\n\n"
        "| images | every tile has its prediction | goal | all thumbnails back | first analysis | store size / image |\n"
        "|---|---|---|---|---|---|\n"
        f"| {r['images']} | **{r['tiles_with_prediction_s']:.3f} s** ({r['tiles_shown']} tiles) | {r['goal_s']:.0f} s "
        f"({'met' if r['met'] else 'NOT met'}) | {r['all_thumbnails_s']:.1f} s | {r['first_analysis_s']:.1f} s | "
        f"{r['store_bytes_per_image']} B |\n\n"
        f"Machine: {cpu_name()}, {os.cpu_count()} logical CPUs, shared with other work; {when}; commit "
        f"{git_commit(mark_dirty=True)}.\n"
    )


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--n", type=int, default=1000)
    ap.add_argument("--append-docs", action="store_true")
    args = ap.parse_args()
    r = run(args.n)
    print(json.dumps(r, indent=1))
    if args.append_docs:
        write_section(BENCH_DOC, section(r))
    return 0 if r["met"] else 1


if __name__ == "__main__":
    sys.exit(main())
