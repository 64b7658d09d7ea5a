"""The follow-up goal measured on the demo model: how often the "beyond the noise" rule
(`core.retest`) calls an unchanged lesion changed, and how often it sees a drawn change.

Pairs from the generator, N per kind (seeds from --seed):
- unchanged: the lesion, then the same lesion re-photographed (`rephotograph` with a seed the retest
  copies never use) with new hairs drawn over it;
- new structure: the lesion drawn without its defining structure (the generator's counterfactual),
  then with it, re-photographed;
- growth: the lesion, then the same seed drawn with a 1.5x radius, re-photographed.
A pair shows a change when any row of the follow-up table (a class probability or a criterion) is a
change beyond the noise; the share counting class probabilities alone is printed beside it. Usage:
`python tools/followup_noise.py --n 40 --seed 7100`.
"""

from __future__ import annotations

import argparse
import dataclasses

import numpy as np

from medgrad_desktop.core.classify import classify
from medgrad_desktop.core.model import load_model
from medgrad_desktop.core.retest import (
    RETEST_COPIES,
    any_change,
    class_verdicts,
    rephotograph,
    retest_copies,
    spread,
)
from medgrad_desktop.data.synth import SynthConfig, render_sample
from medgrad_desktop.data.synth.artefacts import draw_artefact

RETAKE_SEED = 1000  # re-take seeds start here, apart from the retest copies' 0..K-1
GROWTH_CFG = SynthConfig(center_jitter=0.1, radius_range=(0.12, 0.2), artefact_rate=0.3)


def _retake(rgb: np.ndarray, seed: int) -> np.ndarray:
    img = rephotograph(rgb, RETAKE_SEED + seed).astype(np.float32)
    draw_artefact("hairs", np.random.default_rng(seed), img, 1.0)
    return np.clip(np.rint(img), 0, 255).astype(np.uint8)


def pairs(kind: str, n: int, seed: int) -> list[tuple[np.ndarray, np.ndarray]]:
    out = []
    for i in range(n):
        s = seed + i
        if kind == "unchanged":
            img = render_sample(s, SynthConfig(counterfactual=False)).image
            out.append((img, _retake(img, s)))
        elif kind == "new structure":
            smp = render_sample(s)
            out.append((smp.counterfactual, _retake(smp.image, s)))
        else:
            big = dataclasses.replace(GROWTH_CFG, radius_range=(0.18, 0.3))
            a = render_sample(s, GROWTH_CFG).image
            out.append((a, _retake(render_sample(s, big).image, s)))
    return out


def shown_as_change(clip, pair_list: list[tuple[np.ndarray, np.ndarray]]) -> list[tuple[bool, bool]]:
    """(any row beyond the noise, any class probability beyond the noise) per pair."""
    out = []
    for a, b in pair_list:
        imgs = [a, *retest_copies(a), b, *retest_copies(b)]
        preds = classify(clip, imgs, batch_size=len(imgs))
        k = RETEST_COPIES + 1
        sa, sb = spread(preds[:k]), spread(preds[k:])
        classes = any(v.beyond_noise for v in class_verdicts(preds[0], preds[k], sa, sb).values())
        out.append((any_change(preds[0], preds[k], sa, sb), classes))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=40)
    ap.add_argument("--seed", type=int, default=7100)
    ap.add_argument("--kinds", default="unchanged,new structure,growth")
    args = ap.parse_args()
    clip = load_model(None, device="cpu")
    for kind in args.kinds.split(","):
        shown = np.array(shown_as_change(clip, pairs(kind, args.n, args.seed)))
        n_any, n_cls = shown.sum(axis=0)
        print(
            f"{kind}: {n_any}/{len(shown)} shown as change; class rows alone {n_cls}/{len(shown)}", flush=True
        )


if __name__ == "__main__":
    main()
