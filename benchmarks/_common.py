"""Helpers the benchmark scripts share, so every section of docs/BENCHMARKS.md names its CPU and commit
the same way and each script rewrites only its own section (the others belong to other benchmarks).

Standard library only: the scripts import this before torch or Qt, and tests load the scripts by path.
"""

from __future__ import annotations

import os
import platform
import statistics
import subprocess
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BENCH_DOC = ROOT / "docs" / "BENCHMARKS.md"


def cpu_name() -> str:
    """The CPU model from /proc/cpuinfo (Linux), else what `platform` knows (often only the architecture)."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return cpu


def ram_gib() -> float | None:
    """Total memory in GiB from /proc/meminfo, or None where that file is missing or unreadable."""
    try:
        return int(Path("/proc/meminfo").read_text().split()[1]) / 2**20
    except (OSError, ValueError, IndexError):
        return None


def git_commit(mark_dirty: bool = False) -> str:
    """Short hash of HEAD, or "unknown" outside a git checkout (a copied folder, a missing git).

    With `mark_dirty`, says so when tracked files differ from HEAD: the figures then belong to no commit.
    """
    try:
        rev = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
            timeout=10,
        ).stdout.strip()
        if not rev:
            return "unknown"
        if mark_dirty:
            dirty = subprocess.run(
                ["git", "status", "--porcelain", "--untracked-files=no"],
                cwd=ROOT,
                capture_output=True,
                text=True,
                timeout=10,
            ).stdout.strip()
            if dirty:
                rev += " (with uncommitted changes)"
        return rev
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def write_section(doc: Path, section: str) -> None:
    """Replace the section of `doc` whose heading is the first line of `section` (up to the next `## `
    heading), or append it; every other section stays byte for byte. A missing `doc` is created with a
    `# Benchmarks` title. Written via a temporary file, so an interrupted run leaves the old file."""
    heading = section.splitlines()[0].rstrip()
    block = section.rstrip("\n") + "\n"
    old = doc.read_text(encoding="utf-8") if doc.exists() else "# Benchmarks\n"
    lines = old.splitlines(keepends=True)
    start = next((i for i, line in enumerate(lines) if line.rstrip() == heading), None)
    if start is None:
        new = old.rstrip("\n") + "\n\n" + block
    else:
        end = next((j for j in range(start + 1, len(lines)) if lines[j].startswith("## ")), len(lines))
        new = "".join(lines[:start]) + block + ("\n" + "".join(lines[end:]) if end < len(lines) else "")
    doc.parent.mkdir(parents=True, exist_ok=True)
    tmp = doc.with_suffix(doc.suffix + ".tmp")
    tmp.write_text(new, encoding="utf-8")
    os.replace(tmp, doc)


def load_average() -> str:
    """The 1-minute load average, printed beside every figure: this machine is shared."""
    try:
        return Path("/proc/loadavg").read_text().split()[0]
    except OSError:
        return "unknown"


def median_cpu_ms(fn, repeats: int) -> float:
    """Median CPU time of the process per call, in ms, after one warm-up call: on a CPU shared with other
    jobs, wall time mostly measures waiting for a core (numpy's and torch's own threads are counted too)."""
    fn()
    times = []
    for _ in range(repeats):
        t = time.process_time()
        fn()
        times.append(time.process_time() - t)
    return statistics.median(times) * 1000


def machine_meta(load_before: str, commit: str | None = None) -> dict:
    """What every benchmark section names beside its figures: the machine, its load before and after the
    run (this machine is shared), the date and the commit (taken at the start when `commit` is given)."""
    ram = ram_gib()
    return {
        "cpu": cpu_name(),
        "cpus": os.cpu_count(),
        "ram": f"{ram:.0f} GiB RAM" if ram else "RAM unknown",
        "load_before": load_before,
        "load_after": load_average(),
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "commit": commit or git_commit(mark_dirty=True),
    }


def machine_line(meta: dict) -> str:
    return (
        f"Machine: {meta['cpu']}, {meta['cpus']} logical CPUs, {meta['ram']}, load average {meta['load_before']} "
        f"before and {meta['load_after']} after (other jobs share the machine). Date: {meta['date']}. "
        f"Commit: `{meta['commit']}`."
    )
