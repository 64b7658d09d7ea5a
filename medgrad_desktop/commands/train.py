"""`medgrad train DATA... --out DIR`: fine-tune an OpenCLIP model on image-caption pairs.

Defaults are the MedGrad paper's; run under `torchrun --nproc_per_node=N -m medgrad_desktop.cli train ...`
for DistributedDataParallel (gloo on CPU, nccl on GPU).
"""

from __future__ import annotations

import argparse
import json
import sys
import types
import typing
from dataclasses import MISSING, Field, fields

from medgrad_desktop.training.config import TrainConfig

DESCRIPTION = (
    "Symmetric contrastive fine-tuning with a split by lesion id, a checkpoint each epoch, early "
    "stopping and temperature scaling. Defaults follow the MedGrad paper."
)


def add_arguments(p: argparse.ArgumentParser) -> None:
    """One option per `TrainConfig` field declared with `training.config.option`, in field order."""
    p.description = DESCRIPTION
    hints = typing.get_type_hints(TrainConfig)
    groups: dict[str, argparse._MutuallyExclusiveGroup] = {}
    for f in fields(TrainConfig):
        if "help" in f.metadata:
            exclusive = f.metadata.get("exclusive")
            if exclusive and exclusive not in groups:
                groups[exclusive] = p.add_mutually_exclusive_group()
            _add_option(groups[exclusive] if exclusive else p, f, hints[f.name])
    p.set_defaults(func=run)


def _add_option(p: argparse._ActionsContainer, f: Field, hint: object) -> None:
    """The option of one field, by these rules: a field without a default is required (a list: the
    positional arguments; otherwise an option that must be given); a bool defaulting to False is a
    flag, one defaulting to True a `--no-` flag; `X | None` takes X; a Literal gives the choices; a
    tuple takes as many values as it has items. Defaults other than None and False are shown."""
    flag = f.metadata.get("flag", "--" + f.name.replace("_", "-"))
    hint = _without_none(hint)
    help_text = f.metadata["help"]
    if f.default is MISSING:
        if typing.get_origin(hint) is list:
            p.add_argument(f.name, nargs="+", help=help_text)
        else:
            p.add_argument(flag, dest=f.name, required=True, help=help_text)
        return
    if hint is bool:
        if f.default:
            p.add_argument(f"--no-{flag[2:]}", dest=f.name, action="store_false", help=help_text)
        else:
            p.add_argument(flag, dest=f.name, action="store_true", help=help_text)
        return
    default = f.metadata.get("none_word", f.default)
    kw: dict = {"dest": f.name, "default": default}
    if "flag" in f.metadata:
        kw["metavar"] = flag[2:].upper().replace("-", "_")
    shown = "%(default)s"
    if typing.get_origin(hint) is typing.Literal:
        kw["choices"] = list(typing.get_args(hint))
    elif typing.get_origin(hint) is tuple:
        items = typing.get_args(hint)
        kw.update(nargs=len(items), type=items[0])
        shown = " ".join(map(str, default))  # as it is typed
    else:
        kw["type"] = hint
    if default is not None:
        help_text += f" (default: {shown})"
    p.add_argument(flag, help=help_text, **kw)


def _without_none(hint: object) -> object:
    """X for `X | None`; the hint itself otherwise."""
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        rest = [a for a in typing.get_args(hint) if a is not type(None)]
        if len(rest) == 1:
            return rest[0]
    return hint


def config_from_args(args: argparse.Namespace) -> TrainConfig:
    """The run the options describe; the settings without an option keep their defaults."""
    hints = typing.get_type_hints(TrainConfig)
    values = {}
    for f in fields(TrainConfig):
        if "help" not in f.metadata:
            continue
        value = getattr(args, f.name)
        if value is not None and value == f.metadata.get("none_word"):
            value = None
        elif typing.get_origin(_without_none(hints[f.name])) is tuple:
            value = tuple(value)
        values[f.name] = value
    return TrainConfig(**values)


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
