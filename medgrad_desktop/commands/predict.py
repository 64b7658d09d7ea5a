"""`medgrad predict`: classify images or folders; one bad file never stops the batch."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from medgrad_desktop.commands._common import add_model_options, model_from_args
from medgrad_desktop.core.classify import classify
from medgrad_desktop.core.fallback import run_with_fallback
from medgrad_desktop.core.imageio import ImageLoadError, display_name, is_image_file, list_images, load_image
from medgrad_desktop.store.memo import StoreMemo


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("predict", help="classify images (files or folders)")
    p.add_argument("inputs", nargs="+", help="image files or folders")
    add_model_options(p)
    p.add_argument("--top-k", type=int, default=3)
    p.add_argument("--recursive", action="store_true")
    p.add_argument("--batch-size", type=int, default=16)
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("--no-store", dest="store", action="store_false",
                   help="neither reuse nor record predictions in the project store")
    p.set_defaults(func=run)


def expand_inputs(inputs: list[str], recursive: bool) -> list[Path]:
    paths: list[Path] = []
    for s in inputs:
        p = Path(s)
        if p.is_dir():
            paths.extend(list_images(p, recursive))
        else:
            paths.append(p)
    return paths


def run(args: argparse.Namespace) -> int:
    clip = model_from_args(args)
    paths = expand_inputs(args.inputs, args.recursive)
    rows: list[dict] = []
    errors = 0
    memo = StoreMemo.open(args.store)
    if memo.notice:
        print(f"warning: {memo.notice}", file=sys.stderr)
    for i in range(0, len(paths), args.batch_size):
        chunk = paths[i:i + args.batch_size]
        loaded = []
        for p in chunk:
            try:
                if not p.exists() and not is_image_file(p):
                    raise ImageLoadError(p, "no such file")
                loaded.append(load_image(p))
            except ImageLoadError as exc:
                errors += 1
                rows.append({"file": str(p), "error": str(exc)})
                if not args.json:
                    print(f"ERROR  {exc}", file=sys.stderr)
        stored = {im.sha256: memo.prediction(im.sha256, clip.card.weights_sha256) for im in loaded}
        todo = [im for im in loaded if stored[im.sha256] is None]
        fresh = run_with_fallback(
            clip, lambda m, ims=todo: classify(m, [im.rgb for im in ims], top_k=args.top_k),
            on_fallback=lambda msg: print(f"warning: {msg}", file=sys.stderr),
            what=", ".join(display_name(im.path) for im in loaded[:3]) + (" ..." if len(loaded) > 3 else ""),
        ) if todo else []
        for im, pred in zip(todo, fresh, strict=True):
            memo.record(im, pred)
            stored[im.sha256] = pred
        for im in loaded:
            pred = stored[im.sha256]
            rows.append({"file": str(im.path), "sha256": im.sha256, "predicted": pred.predicted_id,
                         "confidence": pred.confidence,
                         "top_k": [{"id": c, "name": n, "probability": pr} for c, n, pr in pred.top_k(args.top_k)],
                         "seven_point_score": pred.seven_point_score,
                         "criteria": {c.criterion_id: c.option_id for c in pred.criteria}})
            if not args.json:
                tops = ", ".join(f"{n} {pr:.1%}" for _, n, pr in pred.top_k(args.top_k))
                flag = " [UNTRAINED]" if clip.card.untrained else " [DEMO]" if clip.card.demo else ""
                print(f"{display_name(im.path)}: {tops}  | 7-point score {pred.seven_point_score}{flag}")
    if args.json:
        print(json.dumps({"model": clip.card.to_dict(), "results": rows}, indent=1))
    return 1 if errors and errors == len(paths) else 0
