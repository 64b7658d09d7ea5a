"""Everything a CPU machine cannot measure or check, in one run on a CUDA GPU:

- `medgrad bench --device cuda --json` with ViT-B/16: classification images/s at batch 64 in fp16, bf16
  (and fp32), all-17-maps images/s per method batched over 64 images, peak memory, the GPU's name;
- maps on CUDA equal the CPU maps (same weights, same images) to 1e-4;
- fp16/bf16 classification agrees with fp32: same top-1, probabilities within 0.01 (the demo model on
  the demo images, whose top-1 margins are real; ViT-B/16 random init is reported too, for information:
  its near-uniform probabilities make top-1 ties);
- a real out-of-memory, with the GPU filled first, falls back to the CPU with a message, gives the CPU's
  maps, and the next image runs on the GPU again.

Usage (from the repository root): `benchmarks/gpu_check.sh`, or
`python benchmarks/gpu_check.py --out DIR [--append-docs]`. Writes DIR/gpu_check.json and prints the
docs/BENCHMARKS.md section; `--append-docs` also writes that section. Exits 2 with a message when no
CUDA GPU is available, 1 when a check fails.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np
import torch

from benchmarks._common import BENCH_DOC, ROOT, cpu_name, git_commit, write_section
from medgrad_desktop.core.classify import classify
from medgrad_desktop.core.explain import METHODS, analyze_batch, default_params
from medgrad_desktop.core.fallback import free_gpu_memory, run_with_fallback
from medgrad_desktop.core.imageio import load_image
from medgrad_desktop.core.model import ClipModel, load_model

MAP_TOL = 1e-4
PROB_TOL = 0.01
SECTION = "## GPU (`benchmarks/gpu_check.sh`)"


def same_weights(clip: ClipModel, device: str) -> ClipModel:
    """`clip`'s architecture on `device` with exactly `clip`'s weights (copied, not re-drawn)."""
    twin = load_model(random_init=True, architecture=clip.card.architecture, device=device, seed=0)
    twin.model.load_state_dict({k: v.to(twin.device) for k, v in clip.model.state_dict().items()})
    return twin


def map_difference(a: ClipModel, b: ClipModel, images: list[np.ndarray]) -> dict:
    """Largest differences between two models' predictions and maps (every method, every class)."""
    targets = a.catalogue.class_targets()
    params = [default_params(m) for m in METHODS]
    ra = analyze_batch(a, images, targets, params)
    rb = analyze_batch(b, images, targets, params)
    out = {"normalized": 0.0, "raw_relative": 0.0, "score": 0.0, "probability": 0.0}
    for x, y in zip(ra, rb, strict=True):
        out["probability"] = max(
            out["probability"],
            float(np.abs(np.subtract(x.prediction.probabilities, y.prediction.probabilities)).max()),
        )
        for k, h in x.maps.items():
            g = y.maps[k]
            out["normalized"] = max(out["normalized"], float(np.abs(h.normalized - g.normalized).max()))
            scale = max(float(np.abs(h.raw).max()), 1e-12)
            out["raw_relative"] = max(out["raw_relative"], float(np.abs(h.raw - g.raw).max()) / scale)
            out["score"] = max(out["score"], abs(h.score - g.score))
    out["ok"] = all(out[k] <= MAP_TOL for k in ("normalized", "raw_relative", "score"))
    return out


def precision_agreement(clip: ClipModel, images: list[np.ndarray]) -> dict:
    """fp16 and bf16 autocast classification against fp32: top-1 agreement and the largest probability
    difference, plus how many fp32 top-1 margins were under the tolerance (ties a rounding may flip)."""
    ref = classify(clip, images, batch_size=64)
    margins = [sorted(p.probabilities)[-1] - sorted(p.probabilities)[-2] for p in ref]
    out: dict = {"images": len(images), "fp32_margins_below_tol": sum(m < PROB_TOL for m in margins)}
    for name, dt in (("fp16", torch.float16), ("bf16", torch.bfloat16)):
        got = classify(clip, images, batch_size=64, autocast_dtype=dt)
        flips = sum(a.predicted_id != b.predicted_id for a, b in zip(ref, got, strict=True))
        diff = max(
            float(np.abs(np.subtract(a.probabilities, b.probabilities)).max())
            for a, b in zip(ref, got, strict=True)
        )
        out[name] = {
            "top1_disagreements": flips,
            "max_probability_difference": diff,
            "ok": flips == 0 and diff <= PROB_TOL,
        }
    return out


def fill_gpu(device: torch.device, keep_free_mib: int = 0) -> list[torch.Tensor]:
    """Allocate until the GPU is full (halving the block down to 1 MiB), leaving about
    `keep_free_mib`. Returns the blocks; dropping them frees the memory again."""
    blocks: list[torch.Tensor] = []
    size = 1 << 30
    while size >= 1 << 20:
        free = torch.cuda.mem_get_info(device)[0]
        if free - size < keep_free_mib << 20:
            size //= 2
            continue
        try:
            blocks.append(torch.empty(size, dtype=torch.uint8, device=device))
        except torch.cuda.OutOfMemoryError:
            size //= 2
    return blocks


def oom_fallback(clip: ClipModel, images: list[np.ndarray]) -> dict:
    """Fill the GPU, explain a batch: it must run out of memory, fall back to the CPU with a message
    and match the CPU's maps; with the memory released, the next batch runs on the GPU again."""
    targets = clip.catalogue.class_targets()
    params = [default_params("medgrad")]
    messages: list[str] = []
    filler = fill_gpu(clip.device)
    filled_gib = sum(b.numel() for b in filler) / 2**30
    try:
        res = run_with_fallback(
            clip,
            lambda m: analyze_batch(m, images, targets, params),
            on_fallback=messages.append,
            what="gpu_check batch",
        )
    except Exception as exc:  # noqa: BLE001 - an error the fallback did not recognise is the finding
        return {
            "filled_gib": filled_gib,
            "fell_back": False,
            "message": None,
            "max_difference_to_cpu": None,
            "next_image_on_gpu": None,
            "ok": False,
            "error": f"{type(exc).__name__}: {exc}"[:500],
        }
    finally:
        del filler
        free_gpu_memory()
    cpu = analyze_batch(same_weights(clip, "cpu"), images, targets, params)
    diff = max(
        float(np.abs(a.maps[k].normalized - b.maps[k].normalized).max())
        for a, b in zip(res, cpu, strict=True)
        for k in a.maps
    )
    after_messages: list[str] = []
    run_with_fallback(
        clip,
        lambda m: analyze_batch(m, images[:1], targets, params),
        on_fallback=after_messages.append,
        what="next image",
    )
    return {
        "filled_gib": filled_gib,
        "fell_back": bool(messages),
        "message": messages[0] if messages else None,
        "max_difference_to_cpu": diff,
        "next_image_on_gpu": not after_messages,
        "ok": bool(messages) and diff <= MAP_TOL and not after_messages,
    }


def run_bench(device: str, images: int, repeats: int) -> dict:
    cmd = [
        sys.executable,
        "-m",
        "medgrad_desktop.cli",
        "bench",
        "--device",
        device,
        "--arch",
        "ViT-B-16",
        "--images",
        str(images),
        "--repeats",
        str(repeats),
        "--gpu-batch",
        "64",
        "--json",
    ]
    r = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=1200)
    if r.returncode != 0:
        raise RuntimeError(f"medgrad bench failed ({r.returncode}): {r.stderr[-2000:]}")
    return json.loads(r.stdout)


def demo_images() -> list[np.ndarray]:
    return [load_image(p).rgb for p in sorted((ROOT / "resources" / "demo").glob("demo_*.png"))]


def section(res: dict) -> str:
    b, g = res["bench"], res["bench"].get("gpu", {})
    lines = [
        SECTION,
        "",
        f"- Date: {res['date']}",
        f"- Commit: {res['commit']}",
        f"- GPU: {res['gpu_name']} "
        f"({res['gpu_memory_gib']:.0f} GiB), CUDA {res['cuda']}, torch {res['torch']}",
        f"- Host CPU: {res['cpu']}",
        "",
        "| measure | value |",
        "|---|---|",
    ]
    for name in ("fp16", "bf16", "fp32"):
        lines.append(
            f"| classification, batch {g.get('batch')}, {name} | "
            f"{g[f'classify_{name}_images_per_s']:.0f} images/s (peak {g[f'classify_{name}_peak_gib']:.2f} GiB) |"
        )
    for m in ("gradcam", "grad_eclip", "medgrad"):
        key = next(k for k in g if k.startswith(f"{m}_all") and k.endswith("_images_per_s"))
        lines.append(
            f"| {m}: prediction + all {b['setup']['prompts']} maps, batch {g.get('batch')} | "
            f"{g[key]:.0f} images/s (peak {g[f'{m}_peak_gib']:.2f} GiB) |"
        )
    for m in ("gradcam", "grad_eclip", "medgrad"):
        r = b[m]["ratio_to_forward"]
        lines.append(
            f"| {m}: one image, all maps / one forward | {r['median']:.2f}x "
            f"(IQR {r['q1']:.2f}-{r['q3']:.2f}) |"
        )
    c = res["checks"]
    oom = c["oom"]
    oom_line = (
        f"- Out of memory after filling {oom['filled_gib']:.1f} GiB: FAIL, {oom['error']}"
        if "error" in oom
        else f"- Out of memory after filling {oom['filled_gib']:.1f} GiB: fell back to the CPU "
        f"{'with' if oom['fell_back'] else 'WITHOUT'} a message, maps within "
        f"{oom['max_difference_to_cpu']:.1e} of the CPU's, next image on the GPU: "
        f"{oom['next_image_on_gpu']}: {'pass' if oom['ok'] else 'FAIL'}"
    )
    lines += [
        "",
        "Checks:",
        "",
        f"- CUDA maps vs CPU maps (ViT-B/16, 4 images, every method and class): largest difference "
        f"normalized {c['maps']['normalized']:.1e}, raw (relative) {c['maps']['raw_relative']:.1e}, "
        f"score {c['maps']['score']:.1e} (tolerance {MAP_TOL:g}): {'pass' if c['maps']['ok'] else 'FAIL'}",
        *[
            f"- {n} vs fp32 classification ({c['precision']['images']} demo images, demo model): "
            f"{c['precision'][n]['top1_disagreements']} top-1 disagreements, largest probability difference "
            f"{c['precision'][n]['max_probability_difference']:.4f} (tolerance {PROB_TOL}): "
            f"{'pass' if c['precision'][n]['ok'] else 'FAIL'}"
            for n in ("fp16", "bf16")
        ],
        oom_line,
    ]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--device", default="cuda")
    ap.add_argument("--out", default=".", help="folder for gpu_check.json")
    ap.add_argument("--images", type=int, default=3)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--append-docs", action="store_true", help="write the section into docs/BENCHMARKS.md")
    args = ap.parse_args(argv)
    if not args.device.startswith("cuda") or not torch.cuda.is_available():
        print(
            f"error: gpu_check needs a CUDA GPU (--device {args.device}; torch {torch.__version__}, "
            f"CUDA available: {torch.cuda.is_available()}); run it on a machine with one",
            file=sys.stderr,
        )
        return 2
    dev = torch.device(args.device)
    t0 = time.perf_counter()
    bench = run_bench(args.device, args.images, args.repeats)
    rng = np.random.default_rng(3)
    imgs = [rng.integers(0, 256, (300 + 20 * i, 400, 3), dtype=np.uint8) for i in range(4)]
    vit_cpu = load_model(random_init=True, architecture="ViT-B-16", device="cpu", seed=0)
    vit_gpu = same_weights(vit_cpu, args.device)
    demo_gpu = load_model(None, device=args.device)
    checks = {
        "maps": map_difference(vit_cpu, vit_gpu, imgs),
        "precision": precision_agreement(demo_gpu, demo_images()),
        "precision_vit_b16_random_init": precision_agreement(
            vit_gpu, [rng.integers(0, 256, (224, 224, 3), dtype=np.uint8) for _ in range(64)]
        ),
        "oom": oom_fallback(vit_gpu, imgs),
    }
    props = torch.cuda.get_device_properties(dev)
    res = {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "commit": git_commit(mark_dirty=True),
        "gpu_name": props.name,
        "gpu_memory_gib": props.total_memory / 2**30,
        "cuda": torch.version.cuda,
        "torch": torch.__version__,
        "cpu": cpu_name(),
        "bench": bench,
        "checks": checks,
        "seconds": time.perf_counter() - t0,
    }
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "gpu_check.json").write_text(json.dumps(res, indent=1))
    text = section(res)
    print(text)
    if args.append_docs:
        write_section(BENCH_DOC, text)
    ok = (
        checks["maps"]["ok"]
        and checks["precision"]["fp16"]["ok"]
        and checks["precision"]["bf16"]["ok"]
        and checks["oom"]["ok"]
    )
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
