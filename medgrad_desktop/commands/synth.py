"""`medgrad synth OUT --n N --seed S`: draw a synthetic dermoscopy data set with exact masks."""

from __future__ import annotations

import argparse
import sys

from medgrad_desktop.data.synth import ARTEFACT_TYPES, CLASS_STRUCTURES, SKIN_TONES, SynthConfig
from medgrad_desktop.data.synth.captions import PHRASINGS


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("out", help="output folder (created)")
    p.add_argument("--n", type=int, default=120, help="number of images (classes balanced)")
    p.add_argument("--seed", type=int, default=0, help="base seed; the same seed gives the same images")
    p.add_argument(
        "--shortcut",
        action="store_true",
        help="shortcut variant: an artefact predicts --shortcut-class 90%% of the time",
    )
    p.add_argument("--shortcut-artefact", choices=["ruler", "bubbles"], default="ruler")
    p.add_argument("--shortcut-class", default="melanoma", choices=list(CLASS_STRUCTURES))
    p.add_argument(
        "--skin-tones",
        default=None,
        help=f"comma-separated skin tone indices 0 (light) .. {len(SKIN_TONES) - 1} (dark); default all",
    )
    p.add_argument(
        "--artefact-rate",
        type=float,
        default=None,
        help=f"0 (clean) .. 1 (many {', '.join(ARTEFACT_TYPES)}); default 0.6",
    )
    p.add_argument("--classes", default=None, help=f"comma-separated subset of {', '.join(CLASS_STRUCTURES)}")
    p.add_argument("--size", type=int, default=224, help="image side in pixels")
    p.add_argument("--no-counterfactual", action="store_true", help="skip the counterfactual twins (faster)")
    p.add_argument(
        "--phrasing",
        choices=list(PHRASINGS),
        default="train",
        help="train: captions never use the held-out phrasings (default); all: any phrasing",
    )
    p.add_argument(
        "--workers", type=int, default=1, help="processes drawing images (same files for any number)"
    )
    p.set_defaults(func=run)


def config_from_args(args: argparse.Namespace) -> SynthConfig:
    kw: dict = {
        "size": args.size,
        "shortcut": args.shortcut,
        "shortcut_artefact": args.shortcut_artefact,
        "shortcut_class": args.shortcut_class,
        "counterfactual": not args.no_counterfactual,
        "phrasing": args.phrasing,
    }
    if args.skin_tones:
        try:
            tones = tuple(int(t) for t in args.skin_tones.split(","))
        except ValueError:
            raise SystemExit(
                f"error: --skin-tones '{args.skin_tones}': expected integers like 0,1,2"
            ) from None
        bad = [t for t in tones if not 0 <= t < len(SKIN_TONES)]
        if bad:
            raise SystemExit(f"error: --skin-tones: {bad} out of range 0..{len(SKIN_TONES) - 1}")
        kw["skin_tones"] = tones
    if args.artefact_rate is not None:
        if not 0.0 <= args.artefact_rate <= 1.0:
            raise SystemExit("error: --artefact-rate must be between 0 and 1")
        kw["artefact_rate"] = args.artefact_rate
    if args.classes:
        classes = tuple(c.strip() for c in args.classes.split(",") if c.strip())
        bad = [c for c in classes if c not in CLASS_STRUCTURES]
        if bad:
            raise SystemExit(f"error: --classes: unknown {bad}; choose from {', '.join(CLASS_STRUCTURES)}")
        kw["classes"] = classes
    if args.shortcut and args.shortcut_class not in kw.get("classes", CLASS_STRUCTURES):
        raise SystemExit("error: --shortcut-class must be one of --classes")
    if args.size < 32:
        raise SystemExit("error: --size must be at least 32")
    return SynthConfig(**kw)


def run(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from medgrad_desktop.data.synth_io import write_dataset

    if args.n < 1:
        print("error: --n must be at least 1", file=sys.stderr)
        return 2
    cfg = config_from_args(args)
    bar = tqdm(total=args.n, unit="img", desc="synth", file=sys.stderr, disable=not sys.stderr.isatty())

    def progress(done: int, total: int) -> None:
        bar.update(1)

    manifest = write_dataset(args.out, args.n, args.seed, cfg, progress, workers=max(1, args.workers))
    bar.close()
    print(f"wrote {args.n} images and {manifest}")
    return 0
