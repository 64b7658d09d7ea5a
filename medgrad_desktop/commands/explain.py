"""`medgrad explain`: overlay PNGs and a JSON of each map's raw statistics for one image."""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

from PIL import Image

from medgrad_desktop.atomic import write_atomic, write_text_atomic
from medgrad_desktop.commands._common import add_model_options, model_from_args
from medgrad_desktop.core.imageio import ImageLoadError, display_name, load_image
from medgrad_desktop.core.method_params import METHODS, PARAM_HELP, params_with_overrides
from medgrad_desktop.core.render import COLORMAPS, DEFAULT_COLORMAP, blend, stamp
from medgrad_desktop.core.typed_text import resolve_typed


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("image")
    add_model_options(p)
    p.add_argument("--method", default="all", choices=[*METHODS, "all"])
    p.add_argument(
        "--target",
        action="append",
        default=None,
        help='predicted | CLASS | criterion:option | "free text" | all-classes (repeatable)',
    )
    p.add_argument("--colormap", default=DEFAULT_COLORMAP, choices=sorted(COLORMAPS))
    p.add_argument("--opacity", type=float, default=0.5)
    p.add_argument("--param", action="append", default=[], metavar="METHOD.FIELD=VALUE", help=PARAM_HELP)
    p.add_argument("--out", required=True, help="output folder")
    p.set_defaults(func=run)


def slug(text: str) -> str:
    return re.sub(r"[^a-zA-Z0-9]+", "-", text).strip("-").lower()[:60] or "target"


def run(args: argparse.Namespace) -> int:
    from medgrad_desktop.core.explain import analyze
    from medgrad_desktop.core.fallback import run_with_fallback

    clip = model_from_args(args)
    try:
        img = load_image(args.image)
    except ImageLoadError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    specs = args.target or ["predicted"]
    pred = analyze(clip, img.rgb, [], []).prediction
    targets = []
    for s in specs:
        if s == "predicted":
            targets.append(clip.catalogue.class_target(pred.predicted_id))
        elif s == "all-classes":
            targets.extend(clip.catalogue.class_targets())
        else:
            targets.append(resolve_typed(clip.catalogue, s, clip.card).target)
    targets = list({t.key: t for t in targets}.values())
    methods = list(METHODS) if args.method == "all" else [args.method]
    try:
        params = params_with_overrides(methods, args.param)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    result = run_with_fallback(
        clip,
        lambda m: analyze(m, img.rgb, targets, params),
        on_fallback=lambda msg: print(f"warning: {msg}", file=sys.stderr),
        what=display_name(img.path),
    )
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    maps = []
    for (method, _key), h in result.maps.items():
        name = f"{Path(args.image).stem}_{method}_{slug(h.target.key)}.png"
        overlay = blend(img.rgb, h.image_map, args.opacity, args.colormap)
        for warning in clip.card.warnings():
            overlay = stamp(overlay, warning.split(":")[0])
        write_atomic(out / name, lambda f, pic=overlay: Image.fromarray(pic).save(f, format="PNG"))
        maps.append(
            {
                "method": method,
                "target": h.target.label,
                "target_kind": h.target.kind,
                "file": name,
                "params": h.params,
                **h.stats(),
            }
        )
    summary = {
        "image": str(img.path),
        "sha256": img.sha256,
        "model": clip.card.to_dict(),
        "prediction": result.prediction.to_dict(),
        "maps": maps,
    }
    write_text_atomic(out / f"{Path(args.image).stem}_explain.json", json.dumps(summary, indent=1))
    print(f"wrote {len(maps)} overlays and {Path(args.image).stem}_explain.json to {out}")
    return 0
