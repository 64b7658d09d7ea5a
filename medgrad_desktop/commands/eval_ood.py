"""`medgrad eval-ood`: the pre-registered test of the out-of-distribution check (docs/TRUST.md).

Scores every candidate of `core.ood` at the thresholds in the model's statistics file on:
in-distribution, unseen synthetic images in the demo's training setting (a seed per role, never used
in training or tuning); the goal's out-of-distribution sets, the shared HAM10000 photographs and
non-dermoscopy images drawn in code (scenes, text, noise; `data/non_dermoscopy.py`); and, reported
only, other generator settings, which are near the training data by design (the shifted setting is a
third of the demo's training images), and the 24 bundled demo images. `--role choice` applies the
rule (`evaluation/ood.py`) to the round's candidates on the choice seed; `--role report` reports on
the report seed whatever the figures are. Each round has its own seeds and candidates (docs/TRUST.md;
round 1 in docs/archive/OOD-ROUND1.md).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

from medgrad_desktop.atomic import write_text_atomic
from medgrad_desktop.core.imageio import list_images, load_image
from medgrad_desktop.data.non_dermoscopy import KINDS, draw
from medgrad_desktop.data.synth import SynthConfig, balanced_labels, render_sample
from medgrad_desktop.data.synth_io import sample_seed
from medgrad_desktop.resources_path import resources_dir

# per pre-registered round: its seeds (never used to train, select or tune anything) and candidates
ROUNDS = {
    1: {"seeds": {"choice": 9101, "report": 9202}, "candidates": ("msp", "energy", "mahalanobis", "knn")},
    2: {"seeds": {"choice": 9303, "report": 9404}, "candidates": ("mahalanobis", "tokens", "layers")},
}
ID_SET = "in-distribution"
HAM_SET = "HAM10000 photos"
GOAL_SETS = [HAM_SET, *KINDS]
DEMO_SET = "bundled demo images"
DEFAULT_HAM = resources_dir().parent.parent / "shared" / "data" / "ham10000-sample" / "images"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--role", choices=("choice", "report"), required=True, help="choice seed or report seed")
    p.add_argument(
        "--round", type=int, choices=sorted(ROUNDS), default=max(ROUNDS), help="which pre-registration"
    )
    p.add_argument("--weights", default=None, help="default: the bundled demo model")
    p.add_argument("--ham", default=str(DEFAULT_HAM), help="folder of real dermoscopy photographs")
    p.add_argument("--n-id", type=int, default=340, help="in-distribution synthetic images")
    p.add_argument("--n-near", type=int, default=100, help="images per other generator setting")
    p.add_argument("--n-other", type=int, default=100, help="non-dermoscopy images per kind")
    p.add_argument("--workers", type=int, default=2, help="processes drawing synthetic images")
    p.add_argument("--out", default=None, help="write round<N>-<role>.json and .md into this folder")
    p.set_defaults(func=run)


def _log(msg: str) -> None:
    print(f"[eval-ood {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def _render(job: tuple[int, int, int, SynthConfig]) -> np.ndarray:
    seed, i, label, cfg = job
    return render_sample(sample_seed(seed, i), cfg, label=label).image


def synthetic(n: int, seed: int, cfg: SynthConfig, workers: int) -> list[np.ndarray]:
    """n images drawn as `write_dataset` draws them (balanced classes, per-image seeds), kept in memory."""
    labels = balanced_labels(n, len(cfg.classes), seed)
    jobs = [(seed, i, int(labels[i]), cfg) for i in range(n)]
    if workers > 1:
        with mp.get_context("fork").Pool(workers) as pool:
            return list(pool.imap(_render, jobs, chunksize=4))
    return [_render(j) for j in jobs]


def near_settings() -> dict[str, SynthConfig]:
    """The other generator settings, reported only (the demo build's module loads torch: imported here)."""
    from medgrad_desktop.training.make_demo import SETTING_WORDS, SHIFT_SETTING, TRAIN_SETTING

    return {
        f"shifted setting ({SETTING_WORDS['shifted']}; in training)": SHIFT_SETTING,
        "no artefacts or decoys": replace(TRAIN_SETTING, artefact_rate=0.0, decoy_rate=0.0),
        "large lesions (radius 0.38-0.48)": replace(TRAIN_SETTING, radius_range=(0.38, 0.48)),
    }


def image_sets(args: argparse.Namespace, seed: int) -> dict[str, list[np.ndarray]]:
    from medgrad_desktop.training.make_demo import TRAIN_SETTING

    sets: dict[str, list[np.ndarray]] = {}
    _log(f"drawing {args.n_id} in-distribution images (seed {seed}, training setting)")
    sets[ID_SET] = synthetic(args.n_id, seed, TRAIN_SETTING, args.workers)
    sets[HAM_SET] = [load_image(p).rgb for p in list_images(Path(args.ham))]
    if not sets[HAM_SET]:
        raise SystemExit(f"error: no images in {args.ham}")
    for kind in KINDS:
        sets[kind] = [draw(kind, seed, i) for i in range(args.n_other)]
    for offset, (name, cfg) in enumerate(near_settings().items(), start=1):
        _log(f"drawing {args.n_near} images: {name} (seed {seed + offset})")
        sets[name] = synthetic(args.n_near, seed + offset, cfg, args.workers)
    sets[DEMO_SET] = [load_image(p).rgb for p in sorted((resources_dir() / "demo").glob("demo_*.png"))]
    return sets


def run(args: argparse.Namespace) -> int:
    from medgrad_desktop.core.model import ModelLoadError, load_model
    from medgrad_desktop.evaluation.ood import (
        GOAL_ID_FLAGGED,
        GOAL_OOD_FLAGGED,
        choose,
        image_scores,
        markdown_table,
        method_rows,
    )

    try:
        clip = load_model(args.weights, device="cpu")
    except ModelLoadError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if clip.ood is None:
        print(f"error: {clip.card.ood_note}; run `medgrad ood-stats` first", file=sys.stderr)
        return 2
    stats = clip.ood.stats
    rnd = ROUNDS[args.round]
    seed = rnd["seeds"][args.role]
    sets = image_sets(args, seed)
    scores = {name: image_scores(clip, stats, images) for name, images in sets.items()}
    rows = [r for r in method_rows(stats, scores, ID_SET, GOAL_SETS) if r.method in rnd["candidates"]]
    chosen, met = choose(rows)
    names = list(sets)
    counts = {k: len(v) for k, v in sets.items()}
    table = markdown_table(rows, names, counts)
    in_use = clip.ood.method
    verdict = (
        f"rule: {chosen} ({'meets both goals' if met else 'no candidate meets both goals: the goal is missed'}); "
        f"the statistics file's method: {in_use}"
    )
    print(table)
    print(verdict)
    out = {
        "round": args.round,
        "role": args.role,
        "seed": seed,
        "candidates": list(rnd["candidates"]),
        "weights_sha256": clip.card.weights_sha256,
        "stats": clip.card.ood,
        "goals": {"ood_flagged_at_least": GOAL_OOD_FLAGGED, "id_flagged_at_most": GOAL_ID_FLAGGED},
        "id_set": ID_SET,
        "goal_sets": GOAL_SETS,
        "counts": counts,
        "rows": [r.to_dict() for r in rows],
        "rule_choice": chosen,
        "rule_choice_meets_goals": met,
        "method_in_use": in_use,
        "ham_scores": {m: [float(v) for v in scores[HAM_SET][m]] for m in rnd["candidates"]},
    }
    if args.out:
        stem = Path(args.out) / f"round{args.round}-{args.role}"
        write_text_atomic(stem.with_suffix(".json"), json.dumps(out, indent=1))
        write_text_atomic(stem.with_suffix(".md"), f"{table}\n\n{verdict}\n")
        _log(f"wrote {stem}.json and .md")
    return 0
