"""Load run: N small synthetic images through the app's own job functions (predict, then the MedGrad
map of the predicted class), as the worker runs them, with the tiny model.

It measures what a long session would reveal: resident memory growth after warm-up (limit 100 MB),
hooks left on the model (must stay 0), and time per image of the first versus the last hundred (must
stay flat). `python benchmarks/load_1000.py [--n 1000] [--device cpu] [--append-docs]` prints the
figures as JSON and, with --append-docs, writes them as the "## Load" section of docs/BENCHMARKS.md.
`tests/reliability/test_load.py` runs the same function on fewer images.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks._common import BENCH_DOC, cpu_name, git_commit, write_section  # noqa: E402

MEMORY_LIMIT_MB = 100.0
FLAT_LIMIT = 1.5  # last-hundred median CPU time per image over first-hundred median (wall time is
# reported too, but on a shared machine it follows the other programs' load, not ours)


def rss_mb() -> float:
    """Resident set size of this process, from /proc (no psutil needed)."""
    try:
        with open("/proc/self/statm") as f:
            pages = int(f.read().split()[1])
        return pages * os.sysconf("SC_PAGE_SIZE") / 2**20
    except OSError:
        import resource

        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def write_images(folder: Path, n: int, seed: int = 0) -> list[Path]:
    """Small smooth PNGs of varying size (64-160 px), each different, so no cache can answer."""
    from PIL import Image

    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    paths = []
    for i in range(n):
        h, w = (int(v) for v in rng.integers(64, 161, 2))
        y, x = np.mgrid[0:h, 0:w] / max(h, w)
        c = rng.uniform(0.2, 0.8, 2)
        blob = np.exp(-((x - c[0]) ** 2 + (y - c[1]) ** 2) / rng.uniform(0.01, 0.08))
        rgb = np.dstack([200 - 120 * blob, 170 - 110 * blob, 150 - 100 * blob])
        rgb = np.clip(rgb + rng.normal(0, 6, rgb.shape), 0, 255).astype(np.uint8)
        p = folder / f"load{i:05d}.png"
        Image.fromarray(rgb).save(p, compress_level=1)
        paths.append(p)
    return paths


class _Ctx:
    """The worker's JobContext, minus the thread: the job functions run exactly as in the app."""

    def __init__(self, model, compute):
        self.model = model
        self.compute = compute
        self.items: list = []

    def checkpoint(self) -> None:
        pass

    def progress(self, done, total=None) -> None:
        pass

    def emit_item(self, item) -> None:
        self.items.append(item)


def run_load(
    n: int = 1000, device: str = "cpu", folder: Path | None = None, block: int = 100, clip=None
) -> dict:
    """Predict + MedGrad map per image; returns the figures (see module docstring)."""
    import torch

    from medgrad_desktop.core.explain import default_params
    from medgrad_desktop.core.explain.hooks import live_hook_count
    from medgrad_desktop.core.model import load_model
    from medgrad_desktop.ui.state.target_choice import TargetChoice
    from medgrad_desktop.ui.work import compute as ui_compute
    from medgrad_desktop.ui.work.jobs import MapRequest, compute_maps, predict_batch

    tmp = None
    if folder is None:
        tmp = tempfile.TemporaryDirectory(prefix="medgrad-load-")
        folder = Path(tmp.name)
    paths = write_images(folder, n)
    clip = clip or load_model(random_init=True, architecture="MedGrad-Tiny", device=device, seed=0)
    params = [default_params("medgrad")]
    hooks_before = live_hook_count(clip.model)
    kept = []  # what the app keeps per image: its prediction (maps go to a bounded cache)
    times: list[float] = []  # wall clock per image
    cpu_times: list[float] = []  # this process's CPU time per image: robust to other programs' load
    rss: list[tuple[int, float]] = []
    gpu_mem: list[tuple[int, int]] = []
    warm = min(block, max(1, n // 5))
    ctx = _Ctx(clip, ui_compute)
    errors = 0
    for i, p in enumerate(paths):
        if i == warm:
            gc.collect()
            rss.append((i, rss_mb()))
        t0, c0 = time.perf_counter(), time.process_time()
        predict_batch([(i, p)], {})(ctx)
        item = ctx.items.pop()
        if item.error:
            errors += 1
            continue
        res = compute_maps(MapRequest(p, TargetChoice("predicted"), params, prediction=item.prediction))(ctx)
        if clip.device.type == "cuda":
            torch.cuda.synchronize()
        times.append(time.perf_counter() - t0)
        cpu_times.append(time.process_time() - c0)
        assert np.isfinite(res.maps["medgrad"].raw).all()
        kept.append(item.prediction)
        if (i + 1) % block == 0 or i + 1 == n:
            if clip.device.type == "cuda":
                gpu_mem.append((i + 1, int(torch.cuda.memory_allocated())))
            if i + 1 > warm:
                gc.collect()
                rss.append((i + 1, rss_mb()))
    hooks_after = live_hook_count(clip.model)
    if tmp is not None:
        tmp.cleanup()
    b = min(block, max(1, len(times) // 3))
    first = statistics.median(times[:b]) if times else float("nan")
    last = statistics.median(times[-b:]) if times else float("nan")
    growth = rss[-1][1] - rss[0][1] if len(rss) > 1 else 0.0
    cpu_first = statistics.median(cpu_times[:b]) if cpu_times else float("nan")
    cpu_last = statistics.median(cpu_times[-b:]) if cpu_times else float("nan")
    per_block = [round(statistics.median(times[k : k + b]) * 1000, 1) for k in range(0, len(times), b)]
    return {
        "images": n,
        "errors": errors,
        "device": str(clip.device),
        "model": clip.card.name,
        "block": b,
        "warmup_images": warm,
        "rss_after_warmup_mb": round(rss[0][1], 1) if rss else None,
        "rss_end_mb": round(rss[-1][1], 1),
        "rss_growth_mb": round(growth, 1),
        "rss_curve_mb": [(i, round(m, 1)) for i, m in rss],
        "hooks_before": hooks_before,
        "hooks_after": hooks_after,
        "ms_per_image_first": round(first * 1000, 2),
        "ms_per_image_last": round(last * 1000, 2),
        "last_over_first": round(last / first, 3) if first else None,
        "cpu_ms_per_image_first": round(cpu_first * 1000, 2),
        "cpu_ms_per_image_last": round(cpu_last * 1000, 2),
        "cpu_last_over_first": round(cpu_last / cpu_first, 3) if cpu_first else None,
        "median_ms_per_block": per_block,
        "ms_per_image_mean": round(statistics.fmean(times) * 1000, 2) if times else None,
        "total_s": round(sum(times), 1),
        "gpu_allocated_bytes": gpu_mem,
        "text_cache_entries": len(clip._text_cache),
    }


def machine() -> str:
    import torch

    gpu = f", GPU {torch.cuda.get_device_name(0)}" if torch.cuda.is_available() else ""
    return f"{cpu_name()}, {os.cpu_count()} logical CPUs (torch threads {torch.get_num_threads()}){gpu}"


def markdown(results: list[dict]) -> str:
    lines = [
        "## Load",
        "",
        "`python benchmarks/load_1000.py --append-docs`: images through the app's own job functions "
        "(predict, then the MedGrad map of the predicted class), MedGrad-Tiny (random init). Limits: "
        f"memory growth after warm-up < {MEMORY_LIMIT_MB:.0f} MB, hooks after = before, "
        f"last-hundred / first-hundred median CPU time per image < {FLAT_LIMIT} (CPU time of this "
        "process, because wall time on a shared machine follows the other programs' load).",
        "",
    ]
    lines.append(
        "| date (UTC) | commit | machine | device | images | RSS after warm-up | growth | hooks "
        "before/after | CPU ms/image first 100 | last 100 | last/first | wall ms/image first 100 | "
        "last 100 | last/first |"
    )
    lines.append("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for r in results:
        lines.append(
            f"| {r['date']} | {r['commit']} | {r['machine']} | {r['device']} | {r['images']} | "
            f"{r['rss_after_warmup_mb']} MB | {r['rss_growth_mb']:+.1f} MB | {r['hooks_before']}/"
            f"{r['hooks_after']} | {r['cpu_ms_per_image_first']} | {r['cpu_ms_per_image_last']} | "
            f"{r['cpu_last_over_first']} | {r['ms_per_image_first']} | {r['ms_per_image_last']} | "
            f"{r['last_over_first']} |"
        )
    lines.append("")
    lines.append(
        "Resident memory (MB) every hundred images, first row: "
        + ", ".join(f"{i}: {m}" for i, m in results[0]["rss_curve_mb"])
    )
    lines.append("")
    lines.append(
        "Median wall ms per image, per hundred, first row: "
        + ", ".join(str(v) for v in results[0]["median_ms_per_block"])
    )
    lines.append("")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--n", type=int, default=1000)
    p.add_argument("--device", default="cpu")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument(
        "--append-docs", action="store_true", help="write the ## Load section of docs/BENCHMARKS.md"
    )
    p.add_argument("--json", default=None, help="also write the figures to this JSON file")
    p.add_argument("--merge", nargs="*", default=[], help="earlier JSON results to list in the same section")
    args = p.parse_args(argv)
    import torch

    torch.set_num_threads(args.threads)
    r = run_load(args.n, args.device)
    r.update(date=datetime.now(UTC).strftime("%Y-%m-%d %H:%M"), commit=git_commit(), machine=machine())
    print(json.dumps(r, indent=1))
    if args.json:
        Path(args.json).write_text(json.dumps(r, indent=1))
    ok = (
        r["rss_growth_mb"] < MEMORY_LIMIT_MB
        and r["hooks_after"] == r["hooks_before"]
        and r["cpu_last_over_first"] is not None
        and r["cpu_last_over_first"] < FLAT_LIMIT
        and r["errors"] == 0
    )
    if args.append_docs:
        earlier = [json.loads(Path(m).read_text()) for m in args.merge]
        write_section(BENCH_DOC, markdown([r, *earlier]))
    print("PASS" if ok else "FAIL", file=sys.stderr)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
