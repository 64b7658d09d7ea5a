"""`medgrad train DATA... --out DIR`: fine-tune an OpenCLIP model on image-caption pairs.

Defaults are the MedGrad paper's; run under `torchrun --nproc_per_node=N -m medgrad_desktop.cli train ...`
for DistributedDataParallel (gloo on CPU, nccl on GPU).
"""

from __future__ import annotations

import argparse
import json
import sys

from medgrad_desktop.training.trainer import DEFAULT_INTENDED_USE, TrainConfig


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "train",
        help="fine-tune a CLIP model on labelled images with captions",
        description="Symmetric contrastive fine-tuning with a split by lesion id, a checkpoint "
        "each epoch, early stopping and temperature scaling. Defaults follow the MedGrad paper.",
    )
    p.add_argument(
        "data",
        nargs="+",
        help="data sets: manifest.csv, a `medgrad synth` folder, PH2, Derm7pt, or one sub-folder per class",
    )
    p.add_argument("--out", required=True, help="output folder (checkpoints/, model.safetensors + card)")
    w = p.add_mutually_exclusive_group()
    w.add_argument("--weights", help="base weights file (OpenCLIP or OpenAI format) to fine-tune")
    w.add_argument("--random-init", action="store_true", help="train from scratch (random initialization)")
    p.add_argument(
        "--arch", default=None, help="architecture, e.g. ViT-B-16 (default: from the weights or card)"
    )
    p.add_argument("--normalization", choices=["clip", "imagenet"], default=None)
    p.add_argument("--device", default="auto")
    p.add_argument("--epochs", type=int, default=30)
    p.add_argument("--batch-size", type=int, default=64, help="global batch (split across DDP processes)")
    p.add_argument("--lr", type=float, default=1e-5)
    p.add_argument("--betas", type=float, nargs=2, default=(0.9, 0.98))
    p.add_argument("--eps", type=float, default=1e-6)
    p.add_argument("--weight-decay", type=float, default=0.2)
    p.add_argument("--optimizer", choices=["adam", "adamw", "sgd"], default="adam")
    p.add_argument("--schedule", choices=["constant", "cosine"], default="constant")
    p.add_argument("--warmup-steps", type=int, default=0)
    p.add_argument("--freeze-image", action="store_true", help="keep the image tower fixed")
    p.add_argument("--freeze-text", action="store_true", help="keep the text tower fixed")
    p.add_argument(
        "--class-loss-weight",
        type=float,
        default=0.0,
        help="add cross-entropy against the class prompts (the app's classifier); 0 = paper",
    )
    p.add_argument(
        "--criteria-loss-weight",
        type=float,
        default=0.0,
        help="add cross-entropy against each 7-point criterion's option prompts; 0 = paper",
    )
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--split-seed", type=int, default=0)
    p.add_argument("--val-fraction", type=float, default=0.1)
    p.add_argument("--test-fraction", type=float, default=0.1)
    p.add_argument("--patience", type=int, default=5, help="early stopping patience in epochs (0 = off)")
    p.add_argument(
        "--select-on",
        choices=["loss", "accuracy"],
        default="loss",
        help="validation figure that picks the saved model and drives early stopping: the contrastive "
        "loss on captions, or the class-prompt accuracy",
    )
    p.add_argument("--max-rotation", type=float, default=15.0)
    p.add_argument("--no-flip", action="store_true")
    p.add_argument("--threads", type=int, default=None, help="CPU threads (torch.set_num_threads)")
    p.add_argument("--resume", action="store_true", help="continue from OUT/checkpoints/last + state.pt")
    p.add_argument("--max-steps-per-epoch", type=int, default=None)
    p.add_argument("--name", default=None, help="model name written to the card")
    p.add_argument("--half", action="store_true", help="store the final weights in fp16")
    p.add_argument("--skip-bad", action="store_true", help="use the good rows of a data set with bad rows")
    p.add_argument("--intended-use", default=DEFAULT_INTENDED_USE)
    p.set_defaults(func=run)


def config_from_args(args: argparse.Namespace) -> TrainConfig:
    return TrainConfig(
        data=list(args.data),
        out=args.out,
        weights=args.weights,
        random_init=args.random_init,
        architecture=args.arch,
        normalization=args.normalization,
        device=None if args.device == "auto" else args.device,
        epochs=args.epochs,
        batch_size=args.batch_size,
        lr=args.lr,
        betas=tuple(args.betas),
        eps=args.eps,
        weight_decay=args.weight_decay,
        optimizer=args.optimizer,
        schedule=args.schedule,
        warmup_steps=args.warmup_steps,
        freeze_image=args.freeze_image,
        freeze_text=args.freeze_text,
        class_loss_weight=args.class_loss_weight,
        criteria_loss_weight=args.criteria_loss_weight,
        seed=args.seed,
        split_seed=args.split_seed,
        val_fraction=args.val_fraction,
        test_fraction=args.test_fraction,
        patience=args.patience,
        select_on=args.select_on,
        max_rotation=args.max_rotation,
        flip=not args.no_flip,
        threads=args.threads,
        resume=args.resume,
        max_steps_per_epoch=args.max_steps_per_epoch,
        name=args.name,
        half=args.half,
        skip_bad=args.skip_bad,
        intended_use=args.intended_use,
    )


def run(args: argparse.Namespace) -> int:
    from medgrad_desktop.core.model import ModelLoadError
    from medgrad_desktop.data.records import DatasetError
    from medgrad_desktop.training.trainer import train

    if args.weights is None and not args.random_init:
        print(
            "error: pass --weights FILE to fine-tune, or --random-init to train from scratch", file=sys.stderr
        )
        return 2
    try:
        result = train(config_from_args(args))
    except (DatasetError, ModelLoadError, ValueError, FileNotFoundError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if result.test_metrics:
        m = result.test_metrics
        print(json.dumps({k: m[k] for k in ("n", "accuracy", "balanced_accuracy", "macro_f1", "ece")}))
    print(f"model: {result.model_path}")
    return 0
