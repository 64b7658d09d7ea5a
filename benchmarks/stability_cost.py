"""What the map's stability figure (`core.stability`) costs beside the map itself, on the CPU, for each
method and K noisy copies (the goal: at most +50 % of the map time for the demo model).

    python benchmarks/stability_cost.py [--weights W | --random-init ViT-B-16] [--images 3] [--repeats 5]
                                         [--threads 1] [--max-k 4]

Goals: at most +50 % of the map time for the demo model, +30 % for ViT-B/16 (`--random-init ViT-B-16`:
the real architecture's cost; its weights do not change it).

The map time is what the app's map job computes for one method once the image's prediction is known
(the folder's batch made it): one `analyze` of the image for the chosen target, without prediction.
The stability time is the stability job's work, `core.explain.stability.measure_stability` (the
function the app and the reports call): the noisy copies, one batched pass, the score.
Medians of the process's CPU time (wall time on a shared CPU is mostly waiting), demo images.
"""

from __future__ import annotations

import argparse
import statistics
import sys
from dataclasses import replace
from functools import partial
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks._common import median_cpu_ms


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--weights", default=None)
    ap.add_argument("--random-init", metavar="ARCH", default=None, help="an untrained model of ARCH")
    ap.add_argument("--images", type=int, default=3)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--max-k", type=int, default=4)
    args = ap.parse_args()

    import torch

    from medgrad_desktop.core.explain import METHODS, analyze, default_params
    from medgrad_desktop.core.explain.stability import measure_stability
    from medgrad_desktop.core.imageio import list_images, load_image
    from medgrad_desktop.core.model import load_model
    from medgrad_desktop.core.stability import STABILITY_RULE
    from medgrad_desktop.resources_path import demo_dir

    torch.set_num_threads(args.threads)
    if args.random_init:
        clip = load_model(random_init=True, architecture=args.random_init, device="cpu", seed=0)
    else:
        clip = load_model(args.weights, device="cpu")
    rgbs = [load_image(p).rgb for p in list_images(demo_dir())[: args.images]]
    print(f"weights {clip.card.weights_sha256[:12]}, input {clip.input_size}, {len(rgbs)} images")
    worst: dict[int, float] = {}
    for m in METHODS:
        p = default_params(m)
        for k in range(1, args.max_k + 1):
            rule = replace(STABILITY_RULE, copies=k)
            ratios = []
            for rgb in rgbs:
                pred = analyze(clip, rgb, [], []).prediction
                target = next(t for t in clip.catalogue.class_targets() if t.key == pred.predicted_id)
                base = analyze(clip, rgb, [target], [p]).get(m, target).normalized
                t_map = median_cpu_ms(
                    partial(analyze, clip, rgb, [target], [p], with_prediction=False), args.repeats
                )
                t_stability = median_cpu_ms(
                    partial(measure_stability, clip, rgb, target, [p], [base], rule), args.repeats
                )
                ratios.append(t_stability / t_map)
            r = statistics.median(ratios)
            worst[k] = max(worst.get(k, 0.0), r)
            print(f"{m:16s} K={k}: stability / map CPU time, median over images {r:.2f}x")
    print("worst method per K: " + ", ".join(f"K={k} {v:.2f}x" for k, v in worst.items()))


if __name__ == "__main__":
    main()
