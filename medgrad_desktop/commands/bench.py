"""`medgrad bench`: what all maps of an image cost compared with one plain forward, from one run.

Absolute times on shared machines are noisy; the ratios measured in the same run are what count.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import time

import numpy as np
import torch

from medgrad_desktop.core.classify import classify
from medgrad_desktop.core.explain import METHODS, analyze, default_params
from medgrad_desktop.core.model import load_model

KEYS = {"gradcam": "gradcam", "grad-eclip": "grad_eclip", "medgrad": "medgrad"}


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("bench", help="time all-prompt maps against one plain forward")
    p.add_argument("--images", type=int, default=3, help="distinct images (median over them)")
    p.add_argument("--repeats", type=int, default=3, help="timed repeats per image (min taken)")
    p.add_argument("--device", default="cpu")
    p.add_argument("--arch", default="ViT-B-16", help="architecture, random init")
    p.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=run)


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def _best(fn, repeats: int, device: torch.device) -> float:
    times = []
    for _ in range(repeats):
        _sync(device)
        t = time.perf_counter()
        fn()
        _sync(device)
        times.append(time.perf_counter() - t)
    return min(times)


def bench(arch: str, device: str, n_images: int, repeats: int) -> dict:
    clip = load_model(random_init=True, architecture=arch, device=device)
    dev = clip.device
    rng = np.random.default_rng(0)
    images = [rng.integers(0, 256, (450, 600, 3), dtype=np.uint8) for _ in range(n_images)]
    targets = clip.catalogue.class_targets()
    clip.target_embeddings(targets)  # text is encoded once per model, outside the timings

    def forward(rgb):
        x, _ = clip.batch([rgb])
        with torch.no_grad():
            clip.model.encode_image(x)

    forward(images[0])
    for m in METHODS:  # warm-up
        analyze(clip, images[0], targets, [default_params(m)])
    fwd = statistics.median(_best(lambda im=im: forward(im), repeats, dev) for im in images)
    out: dict = {"forward_s": fwd}
    loop_repeats = max(1, min(2, repeats))
    for m in METHODS:
        p = [default_params(m)]
        batched = statistics.median(
            _best(lambda im=im, p=p: analyze(clip, im, targets, p), repeats, dev) for im in images)
        # what a one-prompt API costs: each prompt's map by its own call (its own forward)
        loop = statistics.median(
            _best(lambda im=im, p=p: [analyze(clip, im, [t], p) for t in targets], loop_repeats, dev)
            for im in images)
        # the official pattern: one forward shared, then one gradient (VJP) per prompt
        shared = statistics.median(
            _best(lambda im=im, p=p: analyze(clip, im, targets, p, prompt_loop=True), repeats, dev)
            for im in images)
        out[KEYS[m]] = {"batched_s": batched, "loop_s": loop, "ratio_to_forward": batched / fwd,
                        "loop_over_batched": loop / batched, "loop_shared_forward_s": shared,
                        "shared_forward_loop_over_batched": shared / batched}
    if dev.type == "cuda":
        out["gpu"] = _gpu_throughput(clip, targets)
    out["setup"] = {"arch": arch, "device": str(dev), "prompts": len(targets), "images": n_images,
                    "repeats": repeats, "threads": torch.get_num_threads(), "torch": torch.__version__,
                    "machine": platform.processor() or platform.machine(),
                    "gpu_name": torch.cuda.get_device_name(dev) if dev.type == "cuda" else None}
    return out


def _gpu_throughput(clip, targets) -> dict:
    """Classification at batch 64 in fp16 and bf16, explanations (fp32) per image, in images/s."""
    rng = np.random.default_rng(1)
    imgs = [rng.integers(0, 256, (224, 224, 3), dtype=np.uint8) for _ in range(256)]
    res = {}
    for name, dt in (("fp16", torch.float16), ("bf16", torch.bfloat16), ("fp32", None)):
        classify(clip, imgs[:64], batch_size=64, autocast_dtype=dt)
        t = _best(lambda dt=dt: classify(clip, imgs, batch_size=64, autocast_dtype=dt), 3, clip.device)
        res[f"classify_{name}_images_per_s"] = len(imgs) / t
    for m in METHODS:
        p = [default_params(m)]
        t = _best(lambda p=p: [analyze(clip, im, targets, p) for im in imgs[:32]], 2, clip.device)
        res[f"{KEYS[m]}_all17_images_per_s"] = 32 / t
    return res


def run(args: argparse.Namespace) -> int:
    if args.threads:
        torch.set_num_threads(args.threads)
    res = bench(args.arch, args.device, args.images, args.repeats)
    if args.json:
        print(json.dumps(res, indent=1))
        return 0
    s = res["setup"]
    print(f"{s['arch']} on {s['device']} ({s['threads']} threads), {s['prompts']} prompts, median of {s['images']} images")
    print(f"one plain forward: {res['forward_s'] * 1000:.1f} ms")
    for m in METHODS:
        r = res[KEYS[m]]
        print(f"{m:11s} all {s['prompts']} maps: {r['batched_s'] * 1000:7.1f} ms  ({r['ratio_to_forward']:.2f}x forward)"
              f"   one-prompt loop: {r['loop_s'] * 1000:7.1f} ms  (batched {r['loop_over_batched']:.2f}x faster)"
              f"   shared-forward loop: {r['loop_shared_forward_s'] * 1000:7.1f} ms"
              f"  (batched {r['shared_forward_loop_over_batched']:.2f}x faster)")
    for k, v in res.get("gpu", {}).items():
        print(f"{k}: {v:.1f}")
    return 0
