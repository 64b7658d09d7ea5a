"""Explanation cost against one plain forward (`medgrad bench`), written as the "Explanation speed"
section of docs/BENCHMARKS.md with the machine, date, load and commit.

    python benchmarks/explain_speed.py [--images 3] [--repeats 5] [--threads 1] [--append-docs]

One torch thread by default: on a CPU shared with other programs, two threads mostly measure waiting for
the second core, while the CPU time of one thread is the compute (both wall and CPU ratios are shown).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks._common import (
    BENCH_DOC,
    ROOT,
    git_commit,
    load_average,
    machine_line,
    machine_meta,
    write_section,
)
from medgrad_desktop.core.method_params import MedGradParams

SECTION = "## Explanation speed (`medgrad bench`)"
GOALS = {"gradcam": 1.3, "grad_eclip": 1.15, "medgrad": 1.15}
WHERE_IT_GOES = (
    "Where the cost above one forward goes: every method differentiates only the class-token tail (out_p"
    "roj, MLP, ln_post, proj) for all 17 prompts at once, plus one projection of the last block's q, k, v"
    " shared by all three. MedGrad adds each image's local-entropy weight (scikit-image's rank filter, on "
    "the CPU, about 80 ms for a 224x224 image of many grey levels). Grad-CAM also needs the gradient at "
    "every token of the last block's input: pulled back by hand through the class token's attention "
    "(core/explain/tail.py), one D x D product per head and prompt instead of autograd's per token and "
    "prompt, then ln_1's backward; it equals autograd's gradient to 4e-16 in float64 (tests). MedGrad's "
    f"default form is `{MedGradParams().combine}`, the one the pre-registered rule chose on the bundled "
    "model (docs/EXPLANATIONS.md): it weights Grad-ECLIP's map, so it also pays Grad-ECLIP's spatial "
    "weight; the `replace` form (without that weight) measured 1.15x on 2026-12-02 at 08:32 UTC (AMD "
    "EPYC, commit 7ef358b)."
)
NAMES = {"gradcam": "Grad-CAM", "grad_eclip": "Grad-ECLIP", "medgrad": "MedGrad E-CLIP"}


def run_bench(images: int, repeats: int, threads: int, arch: str) -> dict:
    cmd = [
        sys.executable,
        "-m",
        "medgrad_desktop.cli",
        "bench",
        "--images",
        str(images),
        "--repeats",
        str(repeats),
        "--threads",
        str(threads),
        "--arch",
        arch,
        "--json",
    ]
    env = {**os.environ, "PYTHONPATH": str(ROOT), "HF_HUB_OFFLINE": "1"}
    r = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=3600)
    if r.returncode != 0:
        raise SystemExit(f"medgrad bench failed ({r.returncode}): {r.stderr[-2000:]}")
    return json.loads(r.stdout)


def _iqr(s: dict, unit: str = "x", scale: float = 1.0, digits: int = 2) -> str:
    f = f"{{:.{digits}f}}"
    return (
        f"{f.format(s['median'] * scale)}{unit} (IQR {f.format(s['q1'] * scale)}–{f.format(s['q3'] * scale)}, "
        f"range {f.format(s['min'] * scale)}–{f.format(s['max'] * scale)})"
    )


def section(res: dict, meta: dict) -> str:
    s = res["setup"]
    lines = [
        SECTION,
        "",
        f"`python benchmarks/explain_speed.py --images {s['images']} --repeats {s['repeats']} --threads "
        f"{s['threads']}` ({s['arch']}, random init, {s['prompts']} class prompts, images 600×450, "
        f"{s['device']}). In every repeat each method is timed right beside its own plain forward "
        "(`encode_image`, no grad), which of the two goes first alternating and the method order "
        "rotating; each figure is the median of the per-pair ratios, with quartiles and range, over "
        f"{s['images']} images × {s['repeats']} repeats = {res['gradcam']['ratio_to_forward']['n']} pairs "
        'per method. "All maps" includes the image\'s own forward and prediction: everything the app '
        "pays for one image with one method. CPU time (of this process, one torch thread) is the "
        "compute; wall time adds waiting for a core on this shared machine.",
        "",
        f"One plain forward: wall {_iqr(res['forward_s'], ' ms', 1000, 0)}, CPU "
        f"{_iqr(res['forward_cpu_s'], ' ms', 1000, 0)}.",
        "",
        "| method | all maps ÷ forward, CPU time | all maps ÷ forward, wall time | goal | met (CPU) |",
        "|---|---|---|---|---|",
    ]
    for k, goal in GOALS.items():
        cpu, wall = res[k]["cpu_ratio_to_forward"], res[k]["ratio_to_forward"]
        lines.append(
            f"| {NAMES[k]} | **{_iqr(cpu)}** | {_iqr(wall)} | ≤ {goal:.2f}× | "
            f"{'yes' if cpu['median'] <= goal else 'no'} |"
        )
    lines += ["", WHERE_IT_GOES]
    lines += [
        "",
        f"{machine_line(meta)} torch {s['torch']}.",
    ]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--images", type=int, default=3)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--arch", default="ViT-B-16")
    ap.add_argument("--append-docs", action="store_true")
    args = ap.parse_args(argv)
    before = load_average()
    commit = git_commit(mark_dirty=True)
    res = run_bench(args.images, args.repeats, args.threads, args.arch)
    meta = machine_meta(before, commit)
    text = section(res, meta)
    print(text)
    if args.append_docs:
        write_section(BENCH_DOC, text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
