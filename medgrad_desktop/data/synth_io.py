"""Write a synthetic data set to disk: PNG images, PNG masks, counterfactual twins and a CSV manifest.

Layout under OUT (all paths in the manifest are relative to OUT, so the folder can be moved):

    manifest.csv                 path,label,caption,lesion_id,mask,target_mask,counterfactual,diff_mask,...
    synth.json                   generator version, config, seed, n: enough to regenerate the set
    images/synth_000000.png      the image
    masks/synth_000000_lesion.png, masks/synth_000000_target.png     0/255 PNG masks
    masks/synth_000000.npz       every named mask (structure:*, decoy:*, artefact:*, lesion, target)
    counterfactuals/synth_000000.png, counterfactuals/synth_000000_diff.png
"""

from __future__ import annotations

import csv
import io
import json
import multiprocessing as mp
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np

from medgrad_desktop.atomic import write_atomic, write_text_atomic
from medgrad_desktop.data.synth import (
    CRITERIA_ORDER,
    GENERATOR_VERSION,
    SynthConfig,
    SynthSample,
    balanced_labels,
    config_to_dict,
    render_sample,
)

MANIFEST_FIELDS = (
    "path",
    "label",
    "caption",
    "lesion_id",
    "mask",
    "target_mask",
    "counterfactual",
    "diff_mask",
    "masks_npz",
    "class_index",
    "target_structure",
    "skin_tone",
    "lesion_radius",
    "artefact_rate",
    "n_artefacts",
    "artefacts",
    "decoys",
    "structures",
    "body",
    "target_entropy_rank",
    "target_is_entropy_max",
    "target_low_entropy",
    "shortcut_artefact_present",
    "seed",
    "generator_version",
    *CRITERIA_ORDER,
)


def _png(path: Path, arr: np.ndarray) -> None:
    if arr.dtype == bool:
        arr = arr.astype(np.uint8) * 255
    ok, buf = cv2.imencode(".png", arr[..., ::-1] if arr.ndim == 3 else arr)
    if not ok:
        raise OSError(f"{path}: could not encode the PNG (array {arr.shape}, {arr.dtype})")
    write_atomic(path, buf.tobytes())


def sample_seed(base_seed: int, index: int) -> int:
    """Per-image seed: distinct for every (base seed, index) and stable across runs."""
    return int(np.random.SeedSequence([int(base_seed), int(index)]).generate_state(1)[0])


def write_sample(out: Path, stem: str, s: SynthSample) -> dict:
    _png(out / "images" / f"{stem}.png", s.image)
    _png(out / "masks" / f"{stem}_lesion.png", s.lesion_mask)
    _png(out / "masks" / f"{stem}_target.png", s.target_mask)
    named = {"lesion": s.lesion_mask, "target": s.target_mask}
    named.update({f"structure:{k}": v for k, v in s.structure_masks.items()})
    named.update({f"decoy:{k}": v for k, v in s.decoy_masks.items()})
    named.update({f"artefact:{k}": v for k, v in s.artefact_masks.items()})
    arrays = {k: v.astype(bool) for k, v in named.items()}
    write_atomic(out / "masks" / f"{stem}.npz", lambda f: np.savez_compressed(f, **arrays))
    row = {
        "path": f"images/{stem}.png",
        "label": s.class_id,
        "caption": s.caption,
        "lesion_id": s.lesion_id,
        "mask": f"masks/{stem}_lesion.png",
        "target_mask": f"masks/{stem}_target.png",
        "counterfactual": "",
        "diff_mask": "",
        "masks_npz": f"masks/{stem}.npz",
    }
    if s.counterfactual is not None:
        _png(out / "counterfactuals" / f"{stem}.png", s.counterfactual)
        _png(out / "counterfactuals" / f"{stem}_diff.png", s.counterfactual_diff_mask)
        row["counterfactual"] = f"counterfactuals/{stem}.png"
        row["diff_mask"] = f"counterfactuals/{stem}_diff.png"
    m = s.metadata
    row.update(
        {
            "class_index": s.label,
            "target_structure": s.target_structure,
            "skin_tone": m["skin_tone"],
            "lesion_radius": f"{m['lesion_radius']:.4f}",
            "artefact_rate": m["artefact_rate"],
            "n_artefacts": m["n_artefacts"],
            "artefacts": ";".join(m["artefacts"]),
            "decoys": ";".join(m["decoys"]),
            "structures": ";".join(m["structures"]),
            "body": m["body"],
            "target_entropy_rank": m["target_entropy_rank"],
            "target_is_entropy_max": int(m["target_is_entropy_max"]),
            "target_low_entropy": int(m["target_low_entropy"]),
            "shortcut_artefact_present": int(m["shortcut_artefact_present"]),
            "seed": s.seed,
            "generator_version": GENERATOR_VERSION,
        }
    )
    row.update(s.criteria)
    return row


def _render_write(job: tuple) -> dict:
    out, i, seed, label, cfg = job
    return write_sample(out, f"synth_{i:06d}", render_sample(sample_seed(seed, i), cfg, label=label))


def write_dataset(
    out: Path | str,
    n: int,
    seed: int,
    config: SynthConfig | None = None,
    progress: Callable[[int, int], None] | None = None,
    workers: int = 1,
    split: str = "",
) -> Path:
    """Render n images (balanced classes, shuffled by seed) into `out`; returns the manifest path.
    Images depend only on (seed, index), so any number of worker processes gives the same files.
    `split` ("train", "val" or "test") fixes every image's split in the manifest, so data added to a
    training set cannot move the random split of the rest (make_demo's extra training images)."""
    if split not in ("", "train", "val", "test"):
        raise ValueError(f"split '{split}' is not train, val or test")
    out = Path(out)
    cfg = config or SynthConfig()
    out.mkdir(parents=True, exist_ok=True)
    labels = balanced_labels(n, len(cfg.classes), seed)
    jobs = [(out, i, seed, labels[i], cfg) for i in range(n)]
    rows = []
    if workers > 1 and n > 1:
        with mp.get_context("fork").Pool(workers) as pool:
            for row in pool.imap(_render_write, jobs, chunksize=4):
                rows.append(row)
                if progress:
                    progress(len(rows), n)
    else:
        for job in jobs:
            rows.append(_render_write(job))
            if progress:
                progress(len(rows), n)
    manifest = out / "manifest.csv"
    buf = io.StringIO(newline="")
    fields = [*MANIFEST_FIELDS, *(["split"] if split else [])]
    w = csv.DictWriter(buf, fieldnames=fields)
    w.writeheader()
    w.writerows([{**r, "split": split} for r in rows] if split else rows)
    write_text_atomic(manifest, buf.getvalue())
    write_text_atomic(
        out / "synth.json",
        json.dumps(
            {
                "generator_version": GENERATOR_VERSION,
                "seed": seed,
                "n": n,
                "config": config_to_dict(cfg),
                **({"split": split} if split else {}),
            },
            indent=1,
        ),
    )
    return manifest
