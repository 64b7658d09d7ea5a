"""UI responsiveness while 40 images are processed: the worst gap between ticks of a 10 ms QTimer on
the UI thread (goal: under 100 ms), written as the "## UI responsiveness" section of
docs/BENCHMARKS.md (other sections are left untouched).

    .venv/bin/python benchmarks/ui_responsiveness.py            # tiny model, drawn 640x480 images
    .venv/bin/python benchmarks/ui_responsiveness.py --model demo --folder resources/demo
    .venv/bin/python benchmarks/ui_responsiveness.py --model vit-b16 --repeat 1   # the real architecture
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from benchmarks import _common  # noqa: E402
from benchmarks._common import BENCH_DOC, cpu_name, git_commit  # noqa: E402

SECTION = "## UI responsiveness"


def machine() -> str:
    load = ""
    if hasattr(os, "getloadavg"):
        load = f", load average {os.getloadavg()[0]:.1f} at start"
    return f"{platform.system()} {platform.release()}, {cpu_name()}, {os.cpu_count()} logical CPUs{load}"


def write_section(path: Path, body: str, section: str = SECTION) -> None:
    """Replace (or append) only this script's section, keeping every other section as it is."""
    _common.write_section(path, f"{section}\n\n{body.strip()}\n")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--images", type=int, default=40)
    ap.add_argument(
        "--model",
        choices=["tiny", "demo", "vit-b16"],
        default="tiny",
        help="tiny: untrained MedGrad-Tiny (fast, isolates UI cost); demo: the bundled demo model; "
        "vit-b16: ViT-B/16 with random weights (the real architecture's cost)",
    )
    ap.add_argument("--folder", help="use this folder instead of drawn images")
    ap.add_argument(
        "--threads", type=int, default=1, help="torch threads (default 1: one core left to the UI)"
    )
    ap.add_argument("--repeat", type=int, default=3, help="runs; the table shows the worst run")
    ap.add_argument("--out", default=str(BENCH_DOC))
    ap.add_argument("--no-write", action="store_true")
    ap.add_argument("--one-run-json", help=argparse.SUPPRESS)  # internal: one run, its report as JSON
    args = ap.parse_args()
    if not args.one_run_json:
        return run_each_in_its_own_process(args)

    import torch

    torch.set_num_threads(args.threads)
    tmp = Path(tempfile.mkdtemp(prefix="medgrad-bench-ui-"))
    os.environ["MEDGRAD_DATA_DIR"] = str(tmp / "appdata")
    from medgrad_desktop.core.model import load_model
    from medgrad_desktop.testing.responsiveness import measure_gaps
    from medgrad_desktop.testing.sample_images import write_sample_folder
    from medgrad_desktop.testing.waiting import wait_until
    from medgrad_desktop.ui.main_window import MainWindow
    from medgrad_desktop.ui.qt_application import make_app
    from medgrad_desktop.ui.state.settings import AppSettings
    from medgrad_desktop.ui.work.compute import default_model_factory

    app = make_app()
    if args.folder:
        folder = Path(args.folder)
    else:
        folder = tmp / "images"
        write_sample_folder(folder, args.images, size=(640, 480))
    if args.model == "tiny":

        def factory(w, d):
            return load_model(random_init=True, architecture="MedGrad-Tiny", device="cpu")
    elif args.model == "vit-b16":

        def factory(w, d):
            return load_model(random_init=True, architecture="ViT-B-16", device="cpu", seed=0)
    else:

        def factory(w, d):
            return default_model_factory("", "cpu")

    settings = AppSettings.at(tmp / "settings.ini")
    win = MainWindow(settings=settings, model_factory=factory)
    win.resize(1500, 900)
    win.show()
    if not wait_until(lambda: win.app.model is not None or bool(win.app.model_error), 600, app):
        print("model did not load", file=sys.stderr)
        return 1
    report = asdict(measure_gaps(win, folder))
    card = win.app.model.card
    report["model"] = f"{card.display_name()} ({card.architecture})"
    win.close()
    Path(args.one_run_json).write_text(json.dumps(report))
    return 0


def run_each_in_its_own_process(args: argparse.Namespace) -> int:
    """Each run in a fresh process with a fresh data folder: a second run in the same process would find
    the first run's predictions in the project store (nothing left to compute) and would count the
    first run's model in its memory."""
    from medgrad_desktop.testing.sample_images import write_sample_folder

    reports = []
    shared = tempfile.TemporaryDirectory(prefix="medgrad-bench-ui-images-")
    folder = args.folder
    if not folder:  # drawn once; every run reads the same files (each has its own data folder)
        folder = str(Path(shared.name) / "images")
        write_sample_folder(Path(folder), args.images, size=(640, 480))
    for run in range(args.repeat):
        with tempfile.TemporaryDirectory(prefix="medgrad-bench-ui-run-") as d:
            out = Path(d) / "report.json"
            cmd = [sys.executable, __file__, "--one-run-json", str(out), "--images", str(args.images)]
            cmd += ["--model", args.model, "--threads", str(args.threads), "--folder", folder]
            if subprocess.run(cmd).returncode != 0 or not out.exists():
                print(f"run {run + 1} failed", file=sys.stderr)
                return 1
            reports.append(SimpleNamespace(**json.loads(out.read_text())))
        print(f"run {run + 1}: worst gap {reports[-1].worst_gap_ms} ms", flush=True)
    rep = max(reports, key=lambda r: r.worst_gap_ms)
    runs = ", ".join(f"{r.worst_gap_ms} ms" for r in reports)
    verdict = "meets" if rep.worst_gap_ms < 100 else "MISSES"
    peak = max(r.peak_rss_mb for r in reports)
    mem_verdict = "meets" if peak <= 2.5 * 1024 else "MISSES"
    body = f"""
`benchmarks/ui_responsiveness.py` ({args.repeat} runs, each in a fresh process; the table shows the worst) opens a folder of {rep.images} images in the real main window
(offscreen) and, while the worker predicts them all and a simulated reviewer steps to the next analysed
image every 250 ms (decoding it, computing its map, then the map's stability), records the gap between ticks of a 10 ms QTimer
on the UI thread. A gap is how long the UI could not react. Goal: worst gap under 100 ms.

| measure | value |
|---|---|
| images analysed | {rep.analysed} / {rep.images} in {rep.seconds} s |
| model | {rep.model}, CPU, {args.threads} torch threads |
| timer ticks | {rep.ticks} |
| median gap | {rep.median_gap_ms} ms |
| 99th percentile gap | {rep.p99_gap_ms} ms |
| **worst gap** | **{rep.worst_gap_ms} ms** ({verdict} the 100 ms goal) |
| worst gap of each of the {len(reports)} runs | {runs} |
| maps shown during the batch | {rep.maps_shown} |
| their stability figures drawn (measured until the last) | {rep.stability_shown} |
| peak memory of the app process (RSS) | {peak:.0f} MiB ({mem_verdict} the 2.5 GB goal) |

Machine: {machine()}. Date: {datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")}. Commit: `{git_commit()}`.
The test `tests/ui/test_ui_responsiveness.py` asserts the same measurement stays under 200 ms (the goal
with a 2x margin for shared CI runners). On a machine whose CPUs are busy with other work the worst
gap mostly measures the operating system's scheduling, not the app.
"""
    print(body)
    if not args.no_write:
        # one section per model: the tiny model isolates the UI's own cost, ViT-B/16 is the real load
        section = SECTION if args.model == "tiny" else f"{SECTION}, {args.model}"
        write_section(Path(args.out), body, section)
        print(f"wrote the '{section}' section of {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
