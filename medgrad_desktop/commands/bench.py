"""`medgrad bench`: what all maps of an image cost compared with one plain forward, from one run.

Absolute times on a shared machine drift with the other programs' load, so a forward timed at the
start and methods timed a minute later can give impossible ratios (a method cheaper than the forward it
contains). Here every method is timed right beside its own plain forward, in every repeat, in an order
that alternates between repeats; the figure is the median of those paired ratios, reported with their
spread (quartiles, min-max) so a noisy run shows itself.

On CUDA it adds throughput: classification at batch 64 in fp16/bf16/fp32, and images per second for all
prompts' maps of each method batched over images, with the peak memory of each.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from medgrad_desktop.core.method_params import METHODS, default_params

if TYPE_CHECKING:  # torch and the model code are imported when the bench runs, not for its --help
    import numpy as np
    import torch

    from medgrad_desktop.core.model import ClipModel

KEYS = {"gradcam": "gradcam", "grad-eclip": "grad_eclip", "medgrad": "medgrad"}


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--images", type=int, default=3, help="distinct images (each repeat times every image)")
    p.add_argument("--repeats", type=int, default=5, help="repeats; each pairs every method with a forward")
    p.add_argument("--device", default="cpu", help="cpu | cuda[:N]")
    p.add_argument("--arch", default="ViT-B-16", help="architecture, random init")
    p.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    p.add_argument(
        "--loops",
        action="store_true",
        help="also time the one-prompt loop and the shared-forward loop (slow: ~17x)",
    )
    p.add_argument("--gpu-batch", type=int, default=64, help="images per batch of the CUDA throughput runs")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=run)


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        import torch

        torch.cuda.synchronize(device)


def timed(fn: Callable[[], object], device: torch.device) -> float:
    """Wall seconds of one call, with the GPU's queue drained before and after."""
    return timed_both(fn, device)[0]


def timed_both(fn: Callable[[], object], device: torch.device) -> tuple[float, float]:
    """(wall seconds, CPU seconds of this process) of one call. On a CPU shared with other programs the
    wall time includes waiting for a core; the CPU time does not, and with one torch thread it is the
    compute alone."""
    _sync(device)
    t, c = time.perf_counter(), time.process_time()
    fn()
    _sync(device)
    return time.perf_counter() - t, time.process_time() - c


def spread(values: list[float]) -> dict:
    """Median, quartiles and extremes: the median says what, the spread says how far to trust it."""
    v = sorted(values)
    q = statistics.quantiles(v, n=4, method="inclusive") if len(v) > 1 else [v[0]] * 3
    return {"median": statistics.median(v), "q1": q[0], "q3": q[2], "min": v[0], "max": v[-1], "n": len(v)}


def paired_ratios(
    forward: Callable[[np.ndarray], object],
    methods: dict[str, Callable[[np.ndarray], object]],
    images: list[np.ndarray],
    repeats: int,
    device: torch.device,
) -> dict:
    """For every repeat, image and method: time a plain forward and the method back to back (which goes
    first alternates), and keep method / forward, in wall time and in CPU time. Method order rotates
    between repeats so no method always runs first after a pause. Returns per method the spread of its
    ratios and of its seconds, and the spread of the forwards."""
    names = list(methods)
    ratios: dict[str, list[float]] = {m: [] for m in names}
    cpu_ratios: dict[str, list[float]] = {m: [] for m in names}
    secs: dict[str, list[float]] = {m: [] for m in names}
    fwd: list[float] = []
    fwd_cpu: list[float] = []
    for r in range(repeats):
        order = names[r % len(names) :] + names[: r % len(names)]
        for i, im in enumerate(images):
            for j, m in enumerate(order):
                if (r + i + j) % 2 == 0:
                    tf = timed_both(lambda im=im: forward(im), device)
                    tm = timed_both(lambda im=im, m=m: methods[m](im), device)
                else:
                    tm = timed_both(lambda im=im, m=m: methods[m](im), device)
                    tf = timed_both(lambda im=im: forward(im), device)
                fwd.append(tf[0])
                fwd_cpu.append(tf[1])
                secs[m].append(tm[0])
                ratios[m].append(tm[0] / tf[0])
                cpu_ratios[m].append(tm[1] / max(tf[1], 1e-9))
    return {
        "forward_s": spread(fwd),
        "forward_cpu_s": spread(fwd_cpu),
        **{
            m: {
                "ratio_to_forward": spread(ratios[m]),
                "cpu_ratio_to_forward": spread(cpu_ratios[m]),
                "seconds": spread(secs[m]),
            }
            for m in names
        },
    }


def _loops(clip: ClipModel, images: list[np.ndarray], targets, device: torch.device) -> dict:
    """The two patterns batching replaces, each timed once per image beside the batched call."""
    from medgrad_desktop.core.explain import analyze

    out = {}
    for m in METHODS:
        p = [default_params(m)]
        one, shared, batched = [], [], []
        for im in images:
            batched.append(timed(lambda im=im, p=p: analyze(clip, im, targets, p), device))
            one.append(timed(lambda im=im, p=p: [analyze(clip, im, [t], p) for t in targets], device))
            shared.append(timed(lambda im=im, p=p: analyze(clip, im, targets, p, prompt_loop=True), device))
        out[KEYS[m]] = {
            "loop_s": statistics.median(one),
            "loop_shared_forward_s": statistics.median(shared),
            "loop_over_batched": statistics.median(a / b for a, b in zip(one, batched, strict=True)),
            "shared_forward_loop_over_batched": statistics.median(
                a / b for a, b in zip(shared, batched, strict=True)
            ),
        }
    return out


def bench(
    arch: str, device: str, n_images: int, repeats: int, loops: bool = False, gpu_batch: int = 64
) -> dict:
    import numpy as np
    import torch

    from medgrad_desktop.core.explain import analyze
    from medgrad_desktop.core.model import load_model

    clip = load_model(random_init=True, architecture=arch, device=device)
    dev = clip.device
    rng = np.random.default_rng(0)
    images = [rng.integers(0, 256, (450, 600, 3), dtype=np.uint8) for _ in range(n_images)]
    targets = clip.catalogue.class_targets()
    clip.target_embeddings(targets)  # text is encoded once per model, outside the timings

    def forward(rgb: np.ndarray) -> None:
        x, _ = clip.batch([rgb])
        with torch.no_grad():
            clip.model.encode_image(x)

    methods = {KEYS[m]: (lambda rgb, p=[default_params(m)]: analyze(clip, rgb, targets, p)) for m in METHODS}
    forward(images[0])  # warm-up: allocator, thread pool, lazy initialisation
    for fn in methods.values():
        fn(images[0])
    out: dict = paired_ratios(forward, methods, images, repeats, dev)
    if loops:
        for k, v in _loops(clip, images, targets, dev).items():
            out[k].update(v)
    if dev.type == "cuda":
        out["gpu"] = gpu_throughput(clip, targets, gpu_batch)
    out["setup"] = {
        "arch": arch,
        "device": str(dev),
        "prompts": len(targets),
        "images": n_images,
        "repeats": repeats,
        "threads": torch.get_num_threads(),
        "torch": torch.__version__,
        "machine": platform.processor() or platform.machine(),
        "gpu_name": torch.cuda.get_device_name(dev) if dev.type == "cuda" else None,
    }
    return out


def _peak(fn: Callable[[], object], device: torch.device, repeats: int = 3) -> tuple[float, float]:
    """Best seconds of `repeats` calls after one warm-up, and the peak GPU memory (GiB) they reached."""
    import torch

    fn()
    torch.cuda.reset_peak_memory_stats(device)
    best = min(timed(fn, device) for _ in range(repeats))
    return best, torch.cuda.max_memory_allocated(device) / 2**30


def gpu_throughput(clip: ClipModel, targets, batch: int = 64) -> dict:
    """Images per second and peak memory: classification at `batch` in fp16, bf16 and fp32, and every
    prompt's map of each method for `batch` images per pass (fp32, as the app computes them)."""
    import numpy as np
    import torch

    from medgrad_desktop.core.classify import classify
    from medgrad_desktop.core.explain import analyze_batch

    rng = np.random.default_rng(1)
    imgs = [rng.integers(0, 256, (224, 224, 3), dtype=np.uint8) for _ in range(4 * batch)]
    dev = clip.device
    res: dict = {"batch": batch}
    with torch.no_grad():
        for name, dt in (("fp16", torch.float16), ("bf16", torch.bfloat16), ("fp32", None)):
            t, mem = _peak(lambda dt=dt: classify(clip, imgs, batch_size=batch, autocast_dtype=dt), dev)
            res[f"classify_{name}_images_per_s"] = len(imgs) / t
            res[f"classify_{name}_peak_gib"] = mem
    for m in METHODS:
        p = [default_params(m)]
        t, mem = _peak(lambda p=p: analyze_batch(clip, imgs[:batch], targets, p), dev)
        res[f"{KEYS[m]}_all{len(targets)}_images_per_s"] = batch / t
        res[f"{KEYS[m]}_peak_gib"] = mem
    return res


def _fmt(s: dict, scale: float = 1.0, unit: str = "") -> str:
    return (
        f"{s['median'] * scale:.2f}{unit} (IQR {s['q1'] * scale:.2f}-{s['q3'] * scale:.2f}, "
        f"range {s['min'] * scale:.2f}-{s['max'] * scale:.2f}, n={s['n']})"
    )


def run(args: argparse.Namespace) -> int:
    import torch

    from medgrad_desktop.core.model import ModelLoadError

    if args.threads:
        torch.set_num_threads(args.threads)
    try:
        res = bench(args.arch, args.device, args.images, args.repeats, args.loops, args.gpu_batch)
    except ModelLoadError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(res, indent=1))
        return 0
    s = res["setup"]
    print(
        f"{s['arch']} on {s['device']} ({s['threads']} threads), {s['prompts']} prompts, "
        f"{s['images']} images x {s['repeats']} repeats, each method paired with its own forward"
    )
    print(
        f"one plain forward: wall {_fmt(res['forward_s'], 1000, ' ms')}, "
        f"CPU {_fmt(res['forward_cpu_s'], 1000, ' ms')}"
    )
    for m in METHODS:
        r = res[KEYS[m]]
        print(f"{m:11s} all {s['prompts']} maps / forward: wall {_fmt(r['ratio_to_forward'], 1, 'x')}")
        print(f"{'':11s} {'':>{len(str(s['prompts'])) + 17}} CPU  {_fmt(r['cpu_ratio_to_forward'], 1, 'x')}")
        if "loop_s" in r:
            print(
                f"{'':11s} one-prompt loop {r['loop_s'] * 1000:.0f} ms ({r['loop_over_batched']:.2f}x batched), "
                f"shared-forward loop {r['loop_shared_forward_s'] * 1000:.0f} ms "
                f"({r['shared_forward_loop_over_batched']:.2f}x batched)"
            )
    for k, v in res.get("gpu", {}).items():
        print(f"{k}: {v:.2f}" if isinstance(v, float) else f"{k}: {v}")
    return 0
