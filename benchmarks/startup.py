"""Startup time of MedGrad Desktop, frozen bundle against source: from launching the process to the
main window shown (its first paint), to the model loaded, and to the first prediction on the demo
folder. Writes the "## Startup" section of docs/BENCHMARKS.md (only that section).

    .venv/bin/python benchmarks/startup.py --bundle build/dist/MedGradDesktop --runs 3 --write

Both runs use the same probe (build/hooks/medgrad_startup_trace.py): in the bundle the runtime hook
installs it when MEDGRAD_STARTUP_TRACE is set; from source this script installs it before main.py.
Each process gets fresh settings and a fresh data folder, so no "last folder" or cache helps it. The
first launch of each kind is reported apart ("cold": files not yet in the page cache), the rest as
medians. Goal: the window within 2x the source start.

`--visible` measures from outside the process only: it starts one Xvfb server, launches the app on it
(Qt's xcb platform, as a user's desktop would) and polls the X server with `xdotool search --onlyvisible`
until the main window is mapped; the app is then closed. Nothing inside the app is instrumented, so the
figure includes every import. Goal: the window on screen within 1.2 s from source, 1.5 s from the
bundle. It writes the "## Startup: window on screen" section; `--source-root` measures another
checkout (e.g. `git archive COMMIT | tar -x -C DIR` for a before/after).

    .venv/bin/python benchmarks/startup.py --visible --runs 5 --write
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks import _common  # noqa: E402
from benchmarks._common import BENCH_DOC, cpu_name, git_commit, ram_gib  # noqa: E402

HOOKS = ROOT / "build" / "hooks"
SECTION = "## Startup"
EVENTS = ("shown", "model", "first_prediction")

SOURCE_LAUNCHER = (
    "import runpy, sys\n"
    "sys.path.insert(0, {hooks!r}); sys.path.insert(0, {root!r})\n"
    "import medgrad_startup_trace\n"
    "medgrad_startup_trace.install({trace!r})\n"
    "sys.argv = [{main!r}, {folder!r}]\n"
    "runpy.run_path({main!r}, run_name='__main__')\n"
)


VISIBLE_SECTION = "## Startup: window on screen"
WINDOW_TITLE = "MedGrad Desktop"


class XServer:
    """One Xvfb server for all launches (its own start is not the app's to pay)."""

    def __init__(self):
        for tool in ("Xvfb", "xdotool"):
            if shutil.which(tool) is None:
                raise RuntimeError(f"{tool} not found; install it: apt-get install -y xvfb xdotool x11-utils")
        # an explicit display away from :0: on this machine the first Qt client on a fresh :0 (what
        # `-displayfd` picks) failed with "could not connect to display" while xdotool could connect
        number = next(n for n in range(91, 200) if not Path(f"/tmp/.X11-unix/X{n}").exists())
        self.display = f":{number}"
        self.proc = subprocess.Popen(
            ["Xvfb", self.display, "-screen", "0", "1920x1080x24", "-nolisten", "tcp"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 15
        while not self._answers():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.close()
                raise RuntimeError(f"Xvfb on {self.display} did not start or accept connections")
            time.sleep(0.05)

    def _answers(self) -> bool:
        out = subprocess.run(["xdotool", "getdisplaygeometry"], env=self.env(), capture_output=True)
        return out.returncode == 0

    def env(self) -> dict[str, str]:
        return dict(os.environ, DISPLAY=self.display)

    def visible_window(self) -> bool:
        out = subprocess.run(
            ["xdotool", "search", "--onlyvisible", "--name", WINDOW_TITLE],
            env=self.env(),
            capture_output=True,
            text=True,
        )
        return out.returncode == 0 and bool(out.stdout.strip())

    def close(self) -> None:
        self.proc.terminate()
        self.proc.wait(10)


def launch_visible(x: XServer, cmd: list[str], timeout_s: float) -> float:
    """Seconds from starting `cmd` until a window titled MedGrad Desktop is mapped on `x`.

    A launch whose X connection is refused is repeated once (and says so): now and then on this machine
    the Qt client of either kind could not connect to an Xvfb display that xdotool reached a moment
    before; the app never started, so nothing of its startup was measured."""
    try:
        return _launch_visible(x, cmd, timeout_s)
    except RuntimeError as exc:
        if "could not connect to display" not in str(exc):
            raise
        print(f"note: the X connection was refused; launching again ({cmd[-2] if len(cmd) > 2 else cmd[0]})")
        time.sleep(0.5)
        return _launch_visible(x, cmd, timeout_s)


def _launch_visible(x: XServer, cmd: list[str], timeout_s: float) -> float:
    if x.proc.poll() is not None:
        raise RuntimeError(f"Xvfb on {x.display} ended (exit {x.proc.returncode})")
    with tempfile.TemporaryDirectory(prefix="medgrad-visible-") as tmp:
        env = dict(
            x.env(),
            XDG_CONFIG_HOME=str(Path(tmp) / "config"),
            MEDGRAD_DATA_DIR=str(Path(tmp) / "data"),
            QT_QPA_PLATFORM="xcb",
            HF_HUB_OFFLINE="1",
        )
        env.pop("MEDGRAD_STARTUP_TRACE", None)
        t0 = time.monotonic()
        proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        try:
            while time.monotonic() - t0 < timeout_s:
                if x.visible_window():
                    return time.monotonic() - t0
                if proc.poll() is not None:
                    raise RuntimeError(
                        f"exited with {proc.returncode} before a window showed:\n{proc.stderr.read()[-2000:]}"
                    )
                time.sleep(0.01)
            raise RuntimeError(f"no window within {timeout_s:.0f} s")
        finally:
            proc.terminate()
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def render_visible(rows: list[tuple[str, list[float], float]], info: dict[str, str]) -> str:
    lines = [
        VISIBLE_SECTION,
        "",
        "Time from starting the process until its main window is mapped on the X server, measured from "
        "outside (`benchmarks/startup.py --visible`: one Xvfb server, Qt's xcb platform, fresh settings and "
        "data folder each launch, `xdotool search --onlyvisible` polled every 10 ms). The first launch of "
        "each row is cold and left out of the median.",
        "",
    ]
    lines += [f"- {k}: {v}" for k, v in info.items()]
    lines += [
        "",
        "| run | launches | cold (s) | median (s) | min-max (s) | goal |",
        "|---|---:|---:|---:|---:|---|",
    ]
    for label, times, goal in rows:
        warm = times[1:] or times
        med = statistics.median(warm)
        verdict = ("meets" if med <= goal else "MISSES") + f" {goal:.1f} s"
        lines.append(
            f"| {label} | {len(warm)} | {times[0]:.2f} | {med:.2f} | {min(warm):.2f}-{max(warm):.2f} | "
            f"{verdict} |"
        )
    return "\n".join(lines) + "\n"


def measure_visible(args: argparse.Namespace, folder: Path) -> int:
    runs: list[tuple[str, list[str], float]] = []
    roots = [(ROOT, f"source, this checkout ({git_commit(mark_dirty=True)})")]
    if args.source_root:
        root = args.source_root.resolve()
        roots.insert(0, (root, args.source_label or f"source, {root.name}"))
    for root, label in roots:
        runs.append((label, [sys.executable, str(root / "main.py"), str(folder)], 1.2))
    if args.bundle and (args.bundle / "MedGradDesktop").is_file() and args.only != "source":
        runs.append(("bundle", [str(args.bundle / "MedGradDesktop"), str(folder)], 1.5))
    x = XServer()
    times: dict[str, list[float]] = {label: [] for label, _, _ in runs}
    try:
        for i in range(args.runs + 1):  # the rows take turns, so a busy spell of the machine hits them alike
            for label, cmd, _ in runs:
                times[label].append(launch_visible(x, cmd, args.timeout))
                print(
                    f"{label} #{i}{' (cold)' if i == 0 else ''}: window on screen after {times[label][-1]:.2f} s",
                    flush=True,
                )
    finally:
        x.close()
    rows = [(label, times[label], goal) for label, _, goal in runs]
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    info = {
        "Date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "Commit": git_commit(mark_dirty=True),
        "Machine": machine(),
        "Load average at the end": f"{load:.1f} (the machine is shared with other jobs)",
        "Folder": f"`{shown_path(folder)}`",
    }
    if not any(label == "bundle" for label, _, _ in runs):
        info["Bundle"] = f"not measured: no bundle at `{args.bundle}` (build it with `make bundle`)"
    text = render_visible(rows, info)
    print("\n" + text)
    if args.write:
        _common.write_section(BENCH_DOC, text)
        print(f"wrote the {VISIBLE_SECTION!r} section of {BENCH_DOC}")
    return 0


def demo_images(folder: Path) -> bool:
    from medgrad_desktop.core.imageio import list_images

    return folder.is_dir() and bool(list_images(folder))


def launch(
    kind: str, bundle: Path | None, folder: Path, platform_name: str, timeout_s: float
) -> dict[str, float]:
    """Start one app process; return seconds from launch to each traced event."""
    with tempfile.TemporaryDirectory(prefix="medgrad-startup-") as tmp:
        trace = Path(tmp) / "trace.json"
        env = dict(
            os.environ,
            XDG_CONFIG_HOME=str(Path(tmp) / "config"),
            MEDGRAD_DATA_DIR=str(Path(tmp) / "data"),
            QT_QPA_PLATFORM=platform_name,
            MEDGRAD_STARTUP_TRACE=str(trace),
        )
        env.pop("MEDGRAD_STARTUP_TRACE_STAY", None)
        if kind == "bundle":
            cmd = [str(bundle / "MedGradDesktop"), str(folder)]
        else:
            env.pop("MEDGRAD_STARTUP_TRACE")  # the launcher installs the probe itself
            cmd = [
                sys.executable,
                "-c",
                SOURCE_LAUNCHER.format(
                    hooks=str(HOOKS),
                    root=str(ROOT),
                    trace=str(trace),
                    main=str(ROOT / "main.py"),
                    folder=str(folder),
                ),
            ]
        t0 = time.time()
        proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        try:
            _, err = proc.communicate(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.communicate()
            raise RuntimeError(f"{kind}: no window and prediction within {timeout_s:.0f} s") from None
        if not trace.exists():
            raise RuntimeError(
                f"{kind}: exited with {proc.returncode} before the trace was written:\n{err[-2000:]}"
            )
        times = json.loads(trace.read_text())
    missing = [e for e in EVENTS if e not in times]
    if missing:
        raise RuntimeError(f"{kind}: the trace lacks {missing}")
    return {e: times[e] - t0 for e in EVENTS}


def shown_path(folder: Path) -> str:
    for base, prefix in ((ROOT, ""), (ROOT.parent, "../")):
        if folder.resolve().is_relative_to(base):
            return prefix + str(folder.resolve().relative_to(base))
    return str(folder)


def machine() -> str:
    gib = ram_gib()
    mem = f", {gib:.0f} GiB RAM" if gib is not None else ""
    return f"{cpu_name()}, {os.cpu_count()} cores{mem}, {platform.system()} {platform.release()}"


def du(path: Path) -> float:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file() and not p.is_symlink()) / 2**30


def summarize(runs: list[dict[str, float]]) -> dict[str, float]:
    return {e: statistics.median(r[e] for r in runs) for e in EVENTS}


def render(results: dict[str, dict], info: dict[str, str]) -> str:
    lines = [
        SECTION,
        "",
        "Time from launching the process to the main window's first paint, to the model loaded and to the "
        "first prediction on the folder below (`benchmarks/startup.py`; fresh settings and data folder each "
        "launch; medians of the warm launches; the first launch of each kind is reported as cold, though "
        "the page cache may already hold files of an earlier build or test).",
        "",
    ]
    lines += [f"- {k}: {v}" for k, v in info.items()]
    lines += [
        "",
        "| run | launches | window shown (s) | model loaded (s) | first prediction (s) |",
        "|---|---:|---:|---:|---:|",
    ]
    for kind, res in results.items():
        cold, med = res["cold"], res["median"]
        lines.append(
            f"| {kind}, cold | 1 | {cold['shown']:.2f} | {cold['model']:.2f} | {cold['first_prediction']:.2f} |"
        )
        lines.append(
            f"| {kind}, warm (median) | {res['n']} | {med['shown']:.2f} | {med['model']:.2f} | "
            f"{med['first_prediction']:.2f} |"
        )
    if {"source", "bundle"} <= results.keys():
        ratio = results["bundle"]["median"]["shown"] / results["source"]["median"]["shown"]
        verdict = "meets" if ratio <= 2.0 else "misses"
        lines += [
            "",
            f"Bundle window / source window (warm medians): **{ratio:.2f}x** ({verdict} the goal of "
            "at most 2x).",
        ]
    return "\n".join(lines) + "\n"


def write_section(text: str, doc: Path = BENCH_DOC) -> None:
    """Replace the `## Startup` section of `doc` (up to the next `## ` heading), or append it."""
    _common.write_section(doc, text)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument(
        "--bundle",
        type=Path,
        default=ROOT / "build" / "dist" / "MedGradDesktop",
        help="one-folder bundle (default build/dist/MedGradDesktop; skipped if absent)",
    )
    ap.add_argument("--folder", type=Path, help="images to open (default: the demo folder)")
    ap.add_argument("--runs", type=int, default=3, help="warm launches of each kind after the cold one")
    ap.add_argument("--platform", default="offscreen", help="Qt platform (offscreen, or xcb under xvfb-run)")
    ap.add_argument("--timeout", type=float, default=600)
    ap.add_argument("--only", choices=("source", "bundle"), help="measure only one kind")
    ap.add_argument(
        "--write", action="store_true", help=f"write the section into {BENCH_DOC.relative_to(ROOT)}"
    )
    ap.add_argument(
        "--visible",
        action="store_true",
        help="measure only the window on screen, from outside, under Xvfb (see the module docstring)",
    )
    ap.add_argument(
        "--source-root", type=Path, help="--visible: also launch main.py of this checkout (before)"
    )
    ap.add_argument("--source-label", help="--visible: how to name --source-root's row")
    args = ap.parse_args(argv)

    demo = ROOT / "resources" / "demo"
    folder = args.folder or demo
    note = ""
    if not demo_images(folder):
        ham = ROOT.parent / "shared" / "data" / "ham10000-sample" / "images"
        if args.folder or not demo_images(ham):
            print(f"error: {folder}: no images; pass --folder", file=sys.stderr)
            return 2
        folder, note = ham, " (the demo folder has no images yet: HAM10000 sample used instead)"
    if args.visible:
        return measure_visible(args, folder)
    load_at_start = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    kinds = [k for k in ("source", "bundle") if args.only in (None, k)]
    if "bundle" in kinds and not (args.bundle / "MedGradDesktop").is_file():
        if args.only == "bundle":
            print(f"error: {args.bundle}/MedGradDesktop not found; run `make bundle`", file=sys.stderr)
            return 2
        print(f"note: no bundle at {args.bundle}; measuring the source only", file=sys.stderr)
        kinds.remove("bundle")
    results: dict[str, dict] = {}
    for kind in kinds:
        # the bundle opens its own copy of the demo folder, as a user's double-click would
        f = folder
        if kind == "bundle" and folder == demo:
            f = args.bundle / "_internal" / "resources" / "demo"
        runs = []
        for i in range(args.runs + 1):
            load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
            r = launch(kind, args.bundle, f, args.platform, args.timeout)
            print(
                f"{kind} #{i}{' (cold)' if i == 0 else ''}: window {r['shown']:.2f} s, model {r['model']:.2f} s, "
                f"first prediction {r['first_prediction']:.2f} s (load average {load:.1f})",
                flush=True,
            )
            runs.append(r)
        results[kind] = {"cold": runs[0], "median": summarize(runs[1:] or runs), "n": len(runs[1:] or runs)}
    info = {
        "Date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "Commit": git_commit(mark_dirty=True),
        "Machine": machine(),
        "Load average at start": f"{load_at_start:.1f} (the machine is shared with other jobs)",
        "Qt platform": args.platform,
        "Folder": f"`{shown_path(folder)}`{note}",
        "Model": "the bundled demo model"
        if (demo / "model" / "demo-model.safetensors").is_file()
        else "no demo model yet: the app's fallback, an untrained MedGrad-Tiny (a ViT-B/16 demo loads slower)",
    }
    if "bundle" in results:
        info["Bundle"] = f"`{args.bundle.name}` one-folder, {du(args.bundle):.2f} GiB on disk"
    text = render(results, info)
    print("\n" + text)
    if args.write:
        write_section(text)
        print(f"wrote the {SECTION!r} section of {BENCH_DOC}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
