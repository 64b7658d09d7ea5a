"""`medgrad predict`: classify images or folders; one bad file never stops the batch.

Images go through the model a pass of `--batch-size` at a time (default: what the free memory allows).
Under `torchrun --nproc_per_node N` the passes are shared between the processes and rank 0 prints the
merged result, the same as one process would (see `commands/_distributed.py`).
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING

from medgrad_desktop.commands._common import (
    add_batch_size_option,
    add_model_options,
    add_no_store_option,
    model_from_args,
)
from medgrad_desktop.core.batching import images_per_pass
from medgrad_desktop.core.imageio import ImageLoadError, display_name, is_image_file, list_images, load_image
from medgrad_desktop.core.prediction import NO_OOD_CHECK_TEXT, OOD_FLAG_TEXT, Prediction
from medgrad_desktop.store.memo import StoreMemo

if TYPE_CHECKING:  # torch and the model code are imported when the command runs, not for its --help
    from medgrad_desktop.core.model import ClipModel


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("inputs", nargs="+", help="image files or folders")
    add_model_options(p)
    p.add_argument("--top-k", type=int, default=3)
    p.add_argument("--recursive", action="store_true")
    add_batch_size_option(p, "per forward pass", "classify")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    add_no_store_option(p, "neither reuse nor record predictions in the project store")
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


def predict_pass(clip: ClipModel, chunk: list[Path], top_k: int, memo: StoreMemo) -> list[dict]:
    """Rows for one pass: the unreadable files first (as errors), then the predictions in file order;
    predictions the project store already holds for this model are reused, new ones recorded."""
    from medgrad_desktop.core.classify import classify
    from medgrad_desktop.core.fallback import run_with_fallback

    rows: list[dict] = []
    loaded = []
    for p in chunk:
        try:
            if not p.exists() and not is_image_file(p):
                raise ImageLoadError(p, "no such file")
            loaded.append(load_image(p))
        except ImageLoadError as exc:
            rows.append({"file": str(p), "error": str(exc)})
    stored = {
        im.sha256: memo.prediction(im.sha256, clip.card.weights_sha256, clip.card.ood_stats_sha256)
        for im in loaded
    }
    todo = [im for im in loaded if stored[im.sha256] is None]
    fresh = (
        run_with_fallback(
            clip,
            lambda m, ims=todo: classify(m, [im.rgb for im in ims], batch_size=max(1, len(ims)), top_k=top_k),
            on_fallback=lambda msg: print(f"warning: {msg}", file=sys.stderr),
            what=", ".join(display_name(im.path) for im in todo[:3]) + (" ..." if len(todo) > 3 else ""),
        )
        if todo
        else []
    )
    for im, pred in zip(todo, fresh, strict=True):
        memo.record(im, pred)
        stored[im.sha256] = pred
    for im in loaded:
        pred = stored[im.sha256]
        rows.append(
            {
                "file": str(im.path),
                "sha256": im.sha256,
                "predicted": pred.predicted_id,
                "confidence": pred.confidence,
                "top_k": [{"id": c, "name": n, "probability": pr} for c, n, pr in pred.top_k(top_k)],
                "seven_point_score": pred.seven_point_score,
                "criteria": {c.criterion_id: c.option_id for c in pred.criteria},
                "ood": ood_row(pred),
            }
        )
    return rows


def ood_row(pred: Prediction) -> dict:
    """The out-of-distribution result as the JSON gives it: score, threshold, flagged and method, or
    `checked: false` with the plain statement when the model has no statistics."""
    if pred.ood is None:
        return {"checked": False, "note": NO_OOD_CHECK_TEXT}
    row = {"checked": True, **asdict(pred.ood)}
    if pred.ood.flagged:
        row["note"] = OOD_FLAG_TEXT
    return row


def _print_rows(rows: list[dict], clip: ClipModel) -> None:
    flag = " [UNTRAINED]" if clip.card.untrained else " [DEMO]" if clip.card.demo else ""
    for r in rows:
        if "error" in r:
            print(f"ERROR  {r['error']}", file=sys.stderr)
            continue
        tops = ", ".join(f"{t['name']} {t['probability']:.1%}" for t in r["top_k"])
        unlike = f"  | {OOD_FLAG_TEXT.upper()}" if r["ood"].get("flagged") else ""
        print(
            f"{display_name(Path(r['file']))}: {tops}  | 7-point score {r['seven_point_score']}{flag}{unlike}"
        )


def run(args: argparse.Namespace) -> int:
    from medgrad_desktop.commands import _distributed as distributed

    world = distributed.world_from_env()
    args.device = distributed.device_for(world, args.device)
    clip = model_from_args(args)
    distributed.start(world, clip.device)
    memo = StoreMemo.open(args.store)
    if memo.notice and world.rank == 0:
        print(f"warning: {memo.notice}", file=sys.stderr)
    if clip.card.ood_note and world.rank == 0:
        print(f"note: {clip.card.ood_note}", file=sys.stderr)
    paths = expand_inputs(args.inputs, args.recursive)
    batch = distributed.broadcast_from_root(images_per_pass("classify", clip, args.batch_size), world)
    passes = [paths[i : i + batch] for i in range(0, len(paths), batch)]
    mine: dict[int, list[dict]] = {}
    for k in distributed.my_passes(range(len(passes)), world):
        mine[k] = predict_pass(clip, passes[k], args.top_k, memo)
        if not world.distributed and not args.json:  # one process prints as it goes
            _print_rows(mine[k], clip)
    gathered = distributed.gather_to_root(mine, world)
    code = 0
    if gathered is not None:
        merged = {k: rows for part in gathered for k, rows in part.items()}
        rows = [r for k in sorted(merged) for r in merged[k]]
        if args.json:
            print(json.dumps({"model": clip.card.to_dict(), "results": rows}, indent=1))
        elif world.distributed:
            _print_rows(rows, clip)
        errors = sum("error" in r for r in rows)
        code = 1 if errors and errors == len(paths) else 0
    code = distributed.broadcast_from_root(code, world)
    distributed.stop(world)
    return code
