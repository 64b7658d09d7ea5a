"""Options shared by subcommands that load a model. The model code (torch, open_clip) is imported when
a model is loaded, not when the options are added, so a command's `--help` stays quick."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from medgrad_desktop.core.model import ClipModel


def as_help(text: str) -> str:
    """`text` inside an argparse help string, where % starts a format field (a rule says "25%")."""
    return text.replace("%", "%%")


def add_model_options(p: argparse.ArgumentParser) -> None:
    g = p.add_mutually_exclusive_group()
    g.add_argument(
        "--weights",
        help="local weights file (.safetensors/.pt/.bin, OpenCLIP or OpenAI format), "
        "or a cached hf-hub:/openai tag; default: the bundled demo model",
    )
    g.add_argument("--random-init", action="store_true", help="an untrained model (tests and demos only)")
    p.add_argument("--arch", default=None, help="architecture (default from the model card, else ViT-B-16)")
    p.add_argument("--device", default="auto", help="auto | cpu | cuda[:N]")
    p.add_argument(
        "--normalization",
        choices=["clip", "imagenet"],
        default=None,
        help="override the model card's input normalization",
    )


def model_from_args(args: argparse.Namespace) -> ClipModel:
    from medgrad_desktop.core.model import ModelLoadError, load_model

    try:
        clip = load_model(
            args.weights,
            random_init=args.random_init,
            architecture=args.arch,
            device=args.device,
            normalization=args.normalization,
        )
    except ModelLoadError as exc:
        print(f"error: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
    for w in clip.card.warnings():
        print(f"warning: {w}", file=sys.stderr)
    if args.weights is None and not args.random_init:
        print(
            f"note: using the bundled demo model ({clip.card.name}); pass --weights for real weights",
            file=sys.stderr,
        )
    return clip
