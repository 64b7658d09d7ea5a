"""Start-up cost of the `medgrad` command line: wall time and peak memory (RSS) of `medgrad --help`,
`medgrad store info` and `medgrad predict --help`, each in a new process, over several runs. Writes the
"## Command-line start-up" section of docs/BENCHMARKS.md (only that section) with `--write`.

    .venv/bin/python benchmarks/cli_startup.py [--runs 7] [--write]
    .venv/bin/python benchmarks/cli_startup.py --before DIR --before-label 093d21b --write

Each process is `python -m medgrad_desktop.cli ...` with the checkout on PYTHONPATH (`--before` measures
another checkout the same way, e.g. `git archive COMMIT | tar -x -C DIR`). `store info` gets a new empty
data folder (MEDGRAD_DATA_DIR) every run, so it creates and opens a fresh store as a first use would.
The peak RSS is the child's own (`os.wait4`), not this script's. One run per command first warms the
page cache and is not counted. Goals: `--help` and `store info` within 0.5 s and 150 MB.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks._common import BENCH_DOC, ROOT, cpu_name, git_commit, write_section

SECTION = "## Command-line start-up"
COMMANDS = (("--help",), ("store", "info"), ("predict", "--help"))
GOALS = {("--help",): (0.5, 150.0), ("store", "info"): (0.5, 150.0)}  # seconds, MB


def run_once(root: Path, argv: tuple[str, ...]) -> tuple[float, float, float, int]:
    """(wall seconds, CPU seconds, peak RSS in MB, exit code) of one `medgrad ARGV` process from `root`.
    The CPU time (user + system) is the work itself; on a shared machine the wall time adds waiting."""
    data = Path(tempfile.mkdtemp(prefix="medgrad-cli-bench-"))
    env = {**os.environ, "PYTHONPATH": str(root), "HF_HUB_OFFLINE": "1", "MEDGRAD_DATA_DIR": str(data)}
    try:
        t = time.perf_counter()
        proc = subprocess.Popen(
            [sys.executable, "-m", "medgrad_desktop.cli", *argv],
            cwd=root,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - t
        proc.returncode = os.waitstatus_to_exitcode(status)
    finally:
        shutil.rmtree(data, ignore_errors=True)
    cpu = usage.ru_utime + usage.ru_stime
    return wall, cpu, usage.ru_maxrss / 1024, proc.returncode  # ru_maxrss is in KiB on Linux


def measure(root: Path, runs: int) -> dict[tuple[str, ...], dict]:
    out = {}
    for argv in COMMANDS:
        run_once(root, argv)  # warm-up: page cache, .pyc files
        samples = [run_once(root, argv) for _ in range(runs)]
        walls = [s[0] for s in samples]
        rss = [s[2] for s in samples]
        out[argv] = {
            "wall_median": statistics.median(walls),
            "wall_min": min(walls),
            "wall_max": max(walls),
            "cpu_median": statistics.median(s[1] for s in samples),
            "rss_median": statistics.median(rss),
            "rss_max": max(rss),
            "exit_codes": sorted({s[3] for s in samples}),
            "runs": runs,
        }
    return out


def _verdict(argv: tuple[str, ...], r: dict) -> str:
    if argv not in GOALS:
        return "reported"
    secs, mb = GOALS[argv]
    met = r["wall_median"] <= secs and r["rss_max"] <= mb
    return f"{'meets' if met else 'misses'} {secs} s, {mb:.0f} MB"


def table(results: dict[str, dict]) -> list[str]:
    lines = [
        "| source | command | runs | wall median (s) | wall range (s) | CPU median (s) | "
        "peak RSS median (MB) | peak RSS max (MB) | exit | goal |",
        "|---|---|---:|---:|---:|---:|---:|---:|---|---|",
    ]
    for label, res in results.items():
        for argv, r in res.items():
            lines.append(
                f"| {label} | `medgrad {' '.join(argv)}` | {r['runs']} | {r['wall_median']:.2f} | "
                f"{r['wall_min']:.2f}–{r['wall_max']:.2f} | {r['cpu_median']:.2f} | "
                f"{r['rss_median']:.0f} | {r['rss_max']:.0f} | "
                f"{','.join(map(str, r['exit_codes']))} | {_verdict(argv, r)} |"
            )
    return lines


def section(results: dict[str, dict], load: float) -> str:
    lines = [
        SECTION,
        "",
        "`python benchmarks/cli_startup.py`: each command in a new process (`python -m "
        "medgrad_desktop.cli`), wall time from start to exit, its CPU time (user + system: the work, "
        "without the waiting for a core that the wall time adds on this shared machine) and its peak "
        "RSS; `store info` on "
        "a new empty data folder each run; one uncounted warm-up run per command. The command line "
        "imports only the module of the command it runs, and a command imports torch only when it runs "
        "a model (`medgrad_desktop/commands/__init__.py`).",
        "",
        f"- Date: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC",
        f"- Commit: {git_commit(mark_dirty=True)}",
        f"- Machine: {cpu_name()}, {os.cpu_count()} cores, Python {sys.version.split()[0]}",
        f"- Load average at start: {load:.1f} (the machine is shared with other jobs)",
        "",
        *table(results),
    ]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=7, help="counted runs per command")
    ap.add_argument("--before", type=Path, default=None, help="another checkout to measure the same way")
    ap.add_argument("--before-label", default="before", help="its name in the table, e.g. a commit")
    ap.add_argument("--write", action="store_true", help=f"write the section into {BENCH_DOC.name}")
    args = ap.parse_args(argv)
    load = os.getloadavg()[0]
    results: dict[str, dict] = {}
    if args.before is not None:
        results[args.before_label] = measure(args.before.resolve(), args.runs)
    results["this checkout"] = measure(ROOT, args.runs)
    print("\n".join(table(results)))
    if args.write:
        write_section(BENCH_DOC, section(results, load))
        print(f"wrote the '{SECTION[3:]}' section of {BENCH_DOC}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
