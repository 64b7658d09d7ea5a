"""Startup time of MedGrad Desktop, frozen bundle against source: from launching the process to the
main window shown (its first paint), to the model loaded, and to the first prediction on the demo
folder. Writes the "## Startup" section of docs/BENCHMARKS.md (only that section).

    .venv/bin/python benchmarks/startup.py --bundle build/dist/MedGradDesktop --runs 3 --write

Both runs use the same probe (build/hooks/medgrad_startup_trace.py): in the bundle the runtime hook
installs it when MEDGRAD_STARTUP_TRACE is set; from source this script installs it before main.py.
Each process gets fresh settings and a fresh data folder, so no "last folder" or cache helps it. The
first launch of each kind is reported apart ("cold": files not yet in the page cache), the rest as
medians. Goal of issue 7: the window within 2x the source start.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
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


def demo_images(folder: Path) -> bool:
    from medgrad_desktop.core.imageio import list_images

    return folder.is_dir() and bool(list_images(folder))


def launch(kind: str, bundle: Path | None, folder: Path, platform_name: str, timeout_s: float) -> dict[str, float]:
    """Start one app process; return seconds from launch to each traced event."""
    with tempfile.TemporaryDirectory(prefix="medgrad-startup-") as tmp:
        trace = Path(tmp) / "trace.json"
        env = dict(os.environ, XDG_CONFIG_HOME=str(Path(tmp) / "config"), MEDGRAD_DATA_DIR=str(Path(tmp) / "data"),
                   QT_QPA_PLATFORM=platform_name, MEDGRAD_STARTUP_TRACE=str(trace))
        env.pop("MEDGRAD_STARTUP_TRACE_STAY", None)
        if kind == "bundle":
            cmd = [str(bundle / "MedGradDesktop"), str(folder)]
        else:
            env.pop("MEDGRAD_STARTUP_TRACE")  # the launcher installs the probe itself
            cmd = [sys.executable, "-c", SOURCE_LAUNCHER.format(hooks=str(HOOKS), root=str(ROOT), trace=str(trace),
                                                                main=str(ROOT / "main.py"), folder=str(folder))]
        t0 = time.time()
        proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        try:
            _, err = proc.communicate(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.communicate()
            raise RuntimeError(f"{kind}: no window and prediction within {timeout_s:.0f} s") from None
        if not trace.exists():
            raise RuntimeError(f"{kind}: exited with {proc.returncode} before the trace was written:\n{err[-2000:]}")
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
    lines = [SECTION, "",
             "Time from launching the process to the main window's first paint, to the model loaded and to the "
             "first prediction on the folder below (`benchmarks/startup.py`; fresh settings and data folder each "
             "launch; medians of the warm launches; the first launch of each kind is reported as cold, though "
             "the page cache may already hold files of an earlier build or test).", ""]
    lines += [f"- {k}: {v}" for k, v in info.items()]
    lines += ["", "| run | launches | window shown (s) | model loaded (s) | first prediction (s) |",
              "|---|---:|---:|---:|---:|"]
    for kind, res in results.items():
        cold, med = res["cold"], res["median"]
        lines.append(f"| {kind}, cold | 1 | {cold['shown']:.2f} | {cold['model']:.2f} | {cold['first_prediction']:.2f} |")
        lines.append(f"| {kind}, warm (median) | {res['n']} | {med['shown']:.2f} | {med['model']:.2f} | "
                     f"{med['first_prediction']:.2f} |")
    if {"source", "bundle"} <= results.keys():
        ratio = results["bundle"]["median"]["shown"] / results["source"]["median"]["shown"]
        verdict = "meets" if ratio <= 2.0 else "misses"
        lines += ["", f"Bundle window / source window (warm medians): **{ratio:.2f}x** ({verdict} the goal of "
                  "at most 2x)."]
    return "\n".join(lines) + "\n"


def write_section(text: str, doc: Path = BENCH_DOC) -> None:
    """Replace the `## Startup` section of `doc` (up to the next `## ` heading), or append it."""
    _common.write_section(doc, text)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--bundle", type=Path, default=ROOT / "build" / "dist" / "MedGradDesktop",
                    help="one-folder bundle (default build/dist/MedGradDesktop; skipped if absent)")
    ap.add_argument("--folder", type=Path, help="images to open (default: the demo folder)")
    ap.add_argument("--runs", type=int, default=3, help="warm launches of each kind after the cold one")
    ap.add_argument("--platform", default="offscreen", help="Qt platform (offscreen, or xcb under xvfb-run)")
    ap.add_argument("--timeout", type=float, default=600)
    ap.add_argument("--only", choices=("source", "bundle"), help="measure only one kind")
    ap.add_argument("--write", action="store_true", help=f"write the section into {BENCH_DOC.relative_to(ROOT)}")
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
            print(f"{kind} #{i}{' (cold)' if i == 0 else ''}: window {r['shown']:.2f} s, model {r['model']:.2f} s, "
                  f"first prediction {r['first_prediction']:.2f} s (load average {load:.1f})", flush=True)
            runs.append(r)
        results[kind] = {"cold": runs[0], "median": summarize(runs[1:] or runs), "n": len(runs[1:] or runs)}
    info = {
        "Date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "Commit": git_commit(mark_dirty=True),
        "Machine": machine(),
        "Load average at start": f"{load_at_start:.1f} (the machine is shared with other jobs)",
        "Qt platform": args.platform,
        "Folder": f"`{shown_path(folder)}`{note}",
        "Model": "the bundled demo model" if (demo / "model" / "demo-model.safetensors").is_file() else
        "no demo model yet: the app's fallback, an untrained MedGrad-Tiny (a ViT-B/16 demo loads slower)",
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
