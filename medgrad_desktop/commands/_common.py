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


def add_batch_size_option(p: argparse.ArgumentParser, per: str, rule: str) -> None:
    """`--batch-size`: how many images go through one pass (`per`), by default as the batching `rule` says."""
    from medgrad_desktop.core.batching import RULES

    p.add_argument(
        "--batch-size",
        type=int,
        default=None,
        help=f"images {per} (default: {as_help(RULES[rule])})",
    )


def add_no_store_option(p: argparse.ArgumentParser, text: str) -> None:
    """`--no-store`: run without the project store (`text`, its help, says what that leaves out)."""
    p.add_argument("--no-store", dest="store", action="store_false", help=text)


def add_overlay_options(p: argparse.ArgumentParser, whose: str) -> None:
    """The look of the heatmap overlays: colormap, opacity and how opacity follows relevance
    (`whose`: "overlay's" or "overlays'", as the command's help reads)."""
    from medgrad_desktop.core.render import COLORMAPS, DEFAULT_COLORMAP, DEFAULT_OVERLAY_ALPHA, OVERLAY_ALPHAS

    p.add_argument("--colormap", default=DEFAULT_COLORMAP, choices=sorted(COLORMAPS))
    p.add_argument("--opacity", type=float, default=0.5)
    p.add_argument(
        "--overlay-alpha",
        default=DEFAULT_OVERLAY_ALPHA,
        choices=list(OVERLAY_ALPHAS),
        help=f"how the {whose} opacity follows relevance (uniform: the same everywhere); "
        f"default {DEFAULT_OVERLAY_ALPHA}",
    )


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
