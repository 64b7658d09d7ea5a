"""`medgrad ood-stats`: (re)compute the statistics of a model's training images for its
out-of-distribution check, beside existing weights (`<weights stem>.ood.npz`).

The training folders are split as training split them, from the card's record (validation and test
fractions, split seed), and the result is checked against the card's training-manifest hash, so the
statistics describe the images the weights were fitted on; the test split is never used. `medgrad
train` and `make demo` write the same file themselves.
"""

from __future__ import annotations

import argparse
import sys
import time

from medgrad_desktop.core.ood import CHOSEN_METHOD, KNN_K, METHODS, PERCENTILE

_DATA_HELP = "the training data folders (manifest, PH2, Derm7pt or class folders)"
_PERCENTILE_HELP = "thresholds at this percentile of the held-out (validation) images' scores"
_MAX_IMAGES_HELP = "draw this many training-split images (seeded) for the statistics instead of all"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("data", nargs="+", help=_DATA_HELP)
    p.add_argument("--weights", default=None, help="the weights file (default: the bundled demo model)")
    p.add_argument("--method", choices=METHODS, default=CHOSEN_METHOD, help="the score the check uses")
    p.add_argument("--percentile", type=float, default=PERCENTILE, help=_PERCENTILE_HELP)
    p.add_argument("--k", type=int, default=KNN_K, help="the neighbour whose distance the knn score is")
    p.add_argument("--max-images", type=int, default=None, help=_MAX_IMAGES_HELP)
    p.add_argument("--seed", type=int, default=0, help="for --max-images and a held-out share when needed")
    p.add_argument("--device", default="cpu", help="auto | cpu | cuda[:N]")
    p.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    p.set_defaults(func=run)


def _log(msg: str) -> None:
    print(f"[ood-stats {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def run(args: argparse.Namespace) -> int:
    import torch

    from medgrad_desktop.core.model import ModelLoadError, load_model
    from medgrad_desktop.data.records import DatasetError
    from medgrad_desktop.training.card_io import manifest_sha256
    from medgrad_desktop.training.ood_stats import write_stats
    from medgrad_desktop.training.split import split_by_lesion
    from medgrad_desktop.training.trainer import load_records

    if args.threads:
        torch.set_num_threads(args.threads)
    try:
        clip = load_model(args.weights, device=args.device)
    except ModelLoadError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    try:
        records = load_records(args.data, False, _log)
    except DatasetError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    card = clip.card
    training = card.record.get("training_config") or {}
    val_fraction = float(training.get("val_fraction", 0.1))
    test_fraction = float(training.get("test_fraction", 0.0))
    split_seed = int(card.extra.get("split_seed", training.get("split_seed", 0)))
    splits = split_by_lesion(records, val_fraction, test_fraction, split_seed)
    recorded = card.extra.get("training_manifest_sha256")
    if recorded and manifest_sha256(splits) == recorded:
        _log(f"the folders and split match the card's training manifest ({recorded[:12]})")
        what = "training"
    else:
        why = (
            "the card records no training manifest"
            if not recorded
            else "they differ from the card's manifest"
        )
        print(
            f"warning: these folders may not be the training images ({why}); the statistics describe them",
            file=sys.stderr,
        )
        what = "given"
    _log(
        f"{len(splits['train'])} training, {len(splits['val'])} validation images "
        f"(split seed {split_seed}; {len(splits['test'])} test images not used)"
    )
    try:
        write_stats(
            clip,
            splits["train"],
            splits["val"],
            method=args.method,
            percentile=args.percentile,
            k=args.k,
            max_fit=args.max_images,
            seed=args.seed,
            log=_log,
            what=what,
        )
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0
