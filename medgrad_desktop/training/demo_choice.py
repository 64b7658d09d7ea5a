"""Which of two demo models to install, decided on the training seed's validation lesions only.

Why a module: a choice between training runs is pre-registered (docs/TRAINING.md), and the rule has
to be the same code when it is applied and when a reader reruns it. The score is the mean of the three
figures the demo's goals are about, each measured on the validation split that `make_demo` holds out of
its training data (never a test seed): class balanced accuracy, mean criteria balanced accuracy, and
the mean AUROC of the held-out phrasings (wordings no training caption uses).

    python -m medgrad_desktop.training.demo_choice WORK/train INCUMBENT.safetensors CHALLENGER.safetensors
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from medgrad_desktop.core.model import load_model
from medgrad_desktop.data.readers import read_dataset
from medgrad_desktop.training.evaluate import evaluate_records
from medgrad_desktop.training.make_demo import SPLIT_SEED, VAL_FRACTION
from medgrad_desktop.training.split import split_by_lesion

SCORE_KEYS = ("balanced_accuracy", "criteria_balanced_accuracy_mean", "phrase_auroc_mean")


def validation_records(train_dir: Path, split_seed: int = SPLIT_SEED):
    records = read_dataset(train_dir).records
    return split_by_lesion(records, VAL_FRACTION, 0.0, split_seed)["val"]


def validation_score(metrics: dict) -> float:
    """The mean of SCORE_KEYS, and of `shifted_balanced_accuracy` where a shifted validation set was
    scored too (robustness to the shifted setting then counts as much as each other figure)."""
    keys = [*SCORE_KEYS, *(["shifted_balanced_accuracy"] if "shifted_balanced_accuracy" in metrics else [])]
    return float(np.mean([metrics[k] for k in keys]))


def choose(incumbent: dict, challenger: dict) -> str:
    """'challenger' only when its validation score is strictly higher; a tie keeps the installed model."""
    return "challenger" if validation_score(challenger) > validation_score(incumbent) else "incumbent"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("train_dir", type=Path, help="make_demo's training data (WORK/train)")
    ap.add_argument("incumbent", type=Path, help="weights installed now")
    ap.add_argument("challenger", type=Path, help="weights of the run that may replace them")
    ap.add_argument(
        "--shifted",
        type=Path,
        help="a validation set drawn in the shifted setting (never a test seed); its balanced accuracy "
        "joins the score",
    )
    args = ap.parse_args(argv)
    records = validation_records(args.train_dir, SPLIT_SEED)
    shifted = read_dataset(args.shifted).records if args.shifted else []
    out: dict = {"n_validation": len(records), "split_seed": SPLIT_SEED, "score_keys": list(SCORE_KEYS)}
    if shifted:
        out["n_shifted_validation"] = len(shifted)
        out["score_keys"].append("shifted_balanced_accuracy")
    for name, path in (("incumbent", args.incumbent), ("challenger", args.challenger)):
        clip = load_model(path, device="cpu")
        m = evaluate_records(clip, records, in_batch=0)
        row = {"weights": str(path), "sha256": m["model_sha256"], **{k: m[k] for k in SCORE_KEYS}}
        if shifted:
            row["shifted_balanced_accuracy"] = evaluate_records(clip, shifted, in_batch=0)[
                "balanced_accuracy"
            ]
        row["score"] = validation_score(row)
        out[name] = row
    out["choice"] = choose(out["incumbent"], out["challenger"])
    print(json.dumps(out, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
