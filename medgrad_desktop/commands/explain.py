"""`medgrad explain`: overlay PNGs and a JSON of each map's raw statistics for one image.

An empty map (all zero or flat, `core.map_evidence`) gets no overlay PNG: its JSON entry has `"file":
null` and says why. A free-text target's entry carries the words the model was never trained on and
whether the model matches the text to the image (`core.text_match`).
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

from PIL import Image

from medgrad_desktop.atomic import write_atomic, write_text_atomic
from medgrad_desktop.commands._common import add_model_options, add_overlay_options, model_from_args
from medgrad_desktop.core.imageio import ImageLoadError, display_name, load_image
from medgrad_desktop.core.map_evidence import EMPTY_MAP_RULE, no_evidence_text
from medgrad_desktop.core.method_params import METHODS, PARAM_HELP, params_with_overrides
from medgrad_desktop.core.render import (
    blend,
    overlay_alpha,
    stamp,
)
from medgrad_desktop.core.text_match import FREE_TEXT_RULE, free_text_warnings
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
    add_overlay_options(p, "overlay's")
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
        entry: dict = {"method": method, "target": h.target.label, "target_kind": h.target.kind}
        if h.empty:
            entry.update(file=None, map_empty=True, empty_reason=h.empty_reason)
            entry["note"] = f"no overlay written: {no_evidence_text(h.target.label)} ({h.empty_reason})"
        else:
            name = f"{Path(args.image).stem}_{method}_{slug(h.target.key)}.png"
            overlay = blend(img.rgb, h.image_map, args.opacity, args.colormap, args.overlay_alpha)
            for warning in clip.card.warnings():
                overlay = stamp(overlay, warning.split(":")[0])
            write_atomic(out / name, lambda f, pic=overlay: Image.fromarray(pic).save(f, format="PNG"))
            entry.update(file=name, map_empty=False)
        if h.target.kind == "text":
            entry["free_text"] = free_text_warnings(clip.card, h.target.key, h.score)
        maps.append({**entry, "params": h.params, **h.stats()})
    summary = {
        "image": str(img.path),
        "sha256": img.sha256,
        "model": clip.card.to_dict(),
        "prediction": result.prediction.to_dict(),
        "overlay": {
            "opacity": args.opacity,
            "colormap": args.colormap,
            "alpha": overlay_alpha(args.overlay_alpha).to_dict(),
        },
        "empty_map_rule": EMPTY_MAP_RULE.to_dict(),
        "free_text_rule": FREE_TEXT_RULE.to_dict(),
        "maps": maps,
    }
    write_text_atomic(out / f"{Path(args.image).stem}_explain.json", json.dumps(summary, indent=1))
    drawn = sum(m["file"] is not None for m in maps)
    empty = f" ({len(maps) - drawn} empty maps not drawn)" if drawn < len(maps) else ""
    print(f"wrote {drawn} overlays{empty} and {Path(args.image).stem}_explain.json to {out}")
    return 0
