"""`medgrad evaluate DATASET [--weights F] [--json]`: per-image diagnosis metrics, calibration and,
labelled apart, the paper's in-batch matching accuracy, with a confusion matrix and a reliability
diagram written as PNG."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from medgrad_desktop.atomic import write_text_atomic
from medgrad_desktop.commands._common import add_model_options, as_help, model_from_args
from medgrad_desktop.core.batching import RULES, images_per_pass


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "dataset", help="manifest.csv, a `medgrad synth` folder, PH2, Derm7pt or one folder per class"
    )
    add_model_options(p)
    p.add_argument(
        "--split",
        choices=["all", "train", "val", "test"],
        default="all",
        help="only the records of a split the data set defines itself (Derm7pt, manifest column)",
    )
    p.add_argument("--out", default=None, help="folder for confusion.png, reliability.png and metrics.json")
    p.add_argument(
        "--batch-size",
        type=int,
        default=images_per_pass("evaluate-features"),
        help=f"images per forward pass (default: {as_help(RULES['evaluate-features'])})",
    )
    p.add_argument(
        "--in-batch", type=int, default=64, help="batch size of the paper's in-batch metric (0 = off)"
    )
    p.add_argument(
        "--skip-bad", action="store_true", help="evaluate the good rows of a data set with bad rows"
    )
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from medgrad_desktop.data.readers import read_dataset
    from medgrad_desktop.data.records import DatasetError
    from medgrad_desktop.training.evaluate import evaluate_records, plot_confusion, plot_reliability

    try:
        ds = read_dataset(args.dataset, skip_bad=args.skip_bad)
    except DatasetError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    for prob in ds.problems:
        print(f"warning: skipped {prob}", file=sys.stderr)
    records = ds.records if args.split == "all" else [r for r in ds.records if r.split == args.split]
    if not records:
        print(f"error: no records in split '{args.split}' of {args.dataset}", file=sys.stderr)
        return 2
    clip = model_from_args(args)
    try:
        result = evaluate_records(clip, records, args.batch_size, args.in_batch)
    except ValueError as exc:
        print(f"error: {args.dataset}: {exc}", file=sys.stderr)
        return 2
    for line in result["warnings"]:
        print(f"warning: {line}", file=sys.stderr)
    result["dataset"] = {"path": str(args.dataset), "kind": ds.kind, "split": args.split}
    out = Path(args.out) if args.out else None
    if out:
        out.mkdir(parents=True, exist_ok=True)
        result["plots"] = {
            "confusion_matrix": str(plot_confusion(result, out / "confusion.png")),
            "reliability_diagram": str(plot_reliability(result, out / "reliability.png")),
        }
        write_text_atomic(out / "metrics.json", json.dumps(result, indent=1))
    if args.json:
        print(json.dumps(result))
        return 0
    print(
        f"{ds.name} ({ds.kind}, {result['n']} of {result['n_images']} images) with {clip.card.display_name()}"
    )
    print(f"  accuracy           {result['accuracy']:.3f}")
    print(f"  balanced accuracy  {result['balanced_accuracy']:.3f}")
    print(f"  macro-F1           {result['macro_f1']:.3f}")
    print(f"  ECE (15 bins)      {result['ece']:.3f}   (temperature {result['temperature']:.3f})")
    for cid, pc in result["per_class"].items():
        print(f"    {cid:<24} precision {pc['precision']:.3f}  recall {pc['recall']:.3f}  n={pc['support']}")
    if result.get("criteria_balanced_accuracy"):
        print(
            f"  7-point criteria, balanced accuracy (mean {result['criteria_balanced_accuracy_mean']:.3f}):"
        )
        for cid, v in result["criteria_balanced_accuracy"].items():
            print(f"    {cid:<24} {v:.3f}")
    if result.get("phrase_auroc"):
        print(
            f"  held-out phrasings, AUROC of cos(image, phrase) (mean {result['phrase_auroc_mean']:.3f}), "
            "beside the mean of the trained wordings of the same finding:"
        )
        same = result.get("phrase_auroc_trained_same_finding") or {}
        for phrase, v in result["phrase_auroc"].items():
            ref = same.get(phrase)
            print(f"    {phrase:<34} {v:.3f}" + (f"   trained wordings {ref:.3f}" if ref is not None else ""))
        if result.get("phrase_auroc_trained_mean") is not None:
            print(f"  trained wordings, AUROC mean {result['phrase_auroc_trained_mean']:.3f}")
    if result.get("labels_unknown_to_model"):
        unknown = result["labels_unknown_to_model"]
        print(
            f"  left out, labels the model cannot name: {', '.join(f'{k} ({v})' for k, v in unknown.items())}"
        )
    if "in_batch" in result:
        ib = result["in_batch"]
        print(f"  {ib['in_batch_matching_accuracy']:.3f}  {ib['label']}")
    if out:
        print(f"  plots: {out / 'confusion.png'}, {out / 'reliability.png'}")
    return 0
