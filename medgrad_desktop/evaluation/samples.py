"""What the evaluation scores: an image, the target to explain, and the masks to score maps against.

Two sources: the synthetic generator (exact structure, decoy, artefact and counterfactual masks) and
a CSV manifest of real images (path, optional label, optional lesion mask), e.g. the HAM10000 sample.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image

from medgrad_desktop.core.imageio import ImageLoadError, list_images, load_image
from medgrad_desktop.core.model import ClipModel
from medgrad_desktop.core.prompts import Target
from medgrad_desktop.data.csv_table import has_nul, manifest_table
from medgrad_desktop.data.records import DatasetError
from medgrad_desktop.data.synth import SynthConfig, balanced_labels, render_sample
from medgrad_desktop.data.synth.vocabulary import STRUCTURE_CRITERIA
from medgrad_desktop.data.synth_io import sample_seed
from medgrad_desktop.evaluation.shortcut import inpaint


@dataclass
class EvalSample:
    id: str
    image: np.ndarray  # original RGB uint8
    label: str | None  # class id, or None: explain the predicted class
    masks: dict[str, np.ndarray] = field(
        default_factory=dict
    )  # ground truth: "target", "counterfactual", "lesion"
    avoid: dict[str, np.ndarray] = field(
        default_factory=dict
    )  # "decoy", "artefact": map mass there counts against
    counterfactual: np.ndarray | None = None
    strata: dict = field(default_factory=dict)
    # other edits of the image whose score change says what the model relies on, e.g. the shortcut
    # artefact inpainted; the suite reports p(target) after each
    interventions: dict[str, np.ndarray] = field(default_factory=dict)
    # 7-point criterion options the image shows ("criterion:option", the structure's own first) and the
    # mask of the structures that show them: what a map of the criterion's phrase should point at
    phrases: dict[str, np.ndarray] = field(default_factory=dict)


def structure_phrases(target_structure: str, structure_masks: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """{"criterion:option": union of the masks of the drawn structures that set it}, the option of the
    label-defining structure first. Decoys count too: they are drawn and their phrase is true there."""
    out: dict[str, np.ndarray] = {}
    names = sorted(structure_masks, key=lambda n: n != target_structure)
    for name in names:
        crit = STRUCTURE_CRITERIA.get(re.sub(r"_\d+$", "", name))
        mask = structure_masks[name]
        if crit is None or not mask.any():
            continue
        key = f"{crit[0]}:{crit[1]}"
        out[key] = out[key] | mask if key in out else mask.astype(bool)
    return out


def _union(masks: dict[str, np.ndarray], shape: tuple[int, int]) -> np.ndarray | None:
    if not masks:
        return None
    out = np.zeros(shape, bool)
    for m in masks.values():
        out |= m.astype(bool)
    return out


def synthetic_samples(n: int, seed: int, shortcut: bool = False, config=None) -> Iterator[EvalSample]:
    """n generator images, balanced classes, image i drawn from `sample_seed(seed, i)`.

    In the shortcut variant the ground truth of "target" is the shortcut artefact in images of the
    shortcut class (what a faithful map of a shortcut-trained model must point at there); the lesion's
    own structure becomes "structure", and the inpainted image measures how much the model uses it.
    """
    cfg = config or SynthConfig(shortcut=shortcut)
    labels = balanced_labels(n, len(cfg.classes), seed)
    for i in range(n):
        s = render_sample(sample_seed(seed, i), cfg, label=labels[i])
        shape = s.image.shape[:2]
        masks = {"target": s.target_mask, "lesion": s.lesion_mask}
        if s.counterfactual_diff_mask is not None and s.counterfactual_diff_mask.any():
            masks["counterfactual"] = s.counterfactual_diff_mask
        avoid = {}
        if (d := _union(s.decoy_masks, shape)) is not None and d.any():
            avoid["decoy"] = d
        arts = dict(s.artefact_masks)
        interventions = {}
        if shortcut:
            art = cfg.shortcut_artefact
            masks = {"structure": s.target_mask, "lesion": s.lesion_mask}
            if art in arts and arts[art].any() and s.class_id == cfg.shortcut_class:
                masks["target"] = arts.pop(art)  # the ruler is evidence for the shortcut class only
                interventions[f"{art}-inpainted"] = inpaint(s.image, masks["target"])
        if (a := _union(arts, shape)) is not None and a.any():
            avoid["artefact"] = a
        m = s.metadata
        strata = {
            "class": s.class_id,
            "skin_tone": m["skin_tone"],
            "lesion_size": "large" if m["lesion_radius"] >= 0.25 else "small",
            "artefacts": "many" if m["n_artefacts"] >= 3 else "few",
            "target_entropy": "low" if m["target_low_entropy"] else "high",
            "target_is_entropy_max": bool(m["target_is_entropy_max"]),
            "shortcut_artefact_present": bool(m["shortcut_artefact_present"]),
            "structure": s.target_structure,
        }
        yield EvalSample(
            f"synth-{i:04d}",
            s.image,
            s.class_id,
            masks,
            avoid,
            s.counterfactual,
            strata,
            interventions,
            structure_phrases(s.target_structure, s.structure_masks),
        )


def _read_mask(path: Path, shape: tuple[int, int]) -> np.ndarray:
    try:
        with Image.open(path) as im:
            m = np.asarray(im.convert("L")) > 127
    except (OSError, ValueError) as exc:
        raise DatasetError(
            f"{path}: cannot read the mask ({exc}); use a PNG with 0 = outside, 255 = inside"
        ) from None
    if m.shape != shape:
        m = (
            np.asarray(
                Image.fromarray(m.astype(np.uint8) * 255).resize(
                    (shape[1], shape[0]), Image.Resampling.NEAREST
                )
            )
            > 127
        )
    return m


def manifest_samples(manifest: Path | str, n: int | None = None) -> Iterator[EvalSample]:
    """Rows of a CSV with `path` (or `image`), optional `label` (class id), `mask` (lesion),
    `target_mask`, `diff_mask`, `counterfactual` and `masks_npz` (decoy:*, artefact:* masks).
    Relative paths are relative to the CSV's folder."""
    manifest = Path(manifest)
    fields, rows = manifest_table(manifest)
    if not rows:
        raise DatasetError(f"{manifest}: the manifest has no rows; add a header and one row per image")
    col = "path" if "path" in fields else "image" if "image" in fields else None
    if col is None:
        raise DatasetError(f"{manifest}: no 'path' column; the header must name the image column 'path'")
    root = manifest.parent
    for line, row in rows[:n] if n else rows:
        if has_nul(*row.values()):
            raise DatasetError(f"{manifest}:{line}: a cell holds a NUL character; fix the cell")
        p = root / row[col]
        try:
            img = load_image(p)
        except ImageLoadError as exc:
            raise DatasetError(f"{manifest}:{line}: {exc}") from None
        shape = img.rgb.shape[:2]
        masks: dict[str, np.ndarray] = {}
        avoid: dict[str, np.ndarray] = {}
        for key, name in (("mask", "lesion"), ("target_mask", "target"), ("diff_mask", "counterfactual")):
            if row.get(key):
                masks[name] = _read_mask(root / row[key], shape)
        if row.get("masks_npz"):
            with np.load(root / row["masks_npz"]) as z:
                dec = {k: z[k] for k in z.files if k.startswith("decoy:")}
                art = {k: z[k] for k in z.files if k.startswith("artefact:")}
            if (d := _union(dec, shape)) is not None and d.any():
                avoid["decoy"] = d
            if (a := _union(art, shape)) is not None and a.any():
                avoid["artefact"] = a
        cf = None
        if row.get("counterfactual"):
            cf = load_image(root / row["counterfactual"]).rgb
        label = (row.get("label") or "").strip() or None
        yield EvalSample(Path(row[col]).stem, img.rgb, label, masks, avoid, cf, {})


def folder_samples(folder: Path | str, n: int | None = None) -> Iterator[EvalSample]:
    """A folder with images/ and masks/ (lesion masks named <stem>.png or <stem>_segmentation.png),
    as in the HAM10000 sample. No labels: the predicted class is explained."""
    folder = Path(folder)
    img_dir = folder / "images" if (folder / "images").is_dir() else folder
    paths = sorted(list_images(img_dir, False))
    if not paths:
        raise DatasetError(
            f"{img_dir}: no images found; pass a folder with images/ and masks/ or a manifest CSV"
        )
    for p in paths[:n] if n else paths:
        p = Path(p)
        try:
            img = load_image(p)
        except ImageLoadError as exc:
            raise DatasetError(str(exc)) from None
        masks = {}
        for cand in (folder / "masks" / f"{p.stem}.png", folder / "masks" / f"{p.stem}_segmentation.png"):
            if cand.is_file():
                masks["lesion"] = _read_mask(cand, img.rgb.shape[:2])
                break
        yield EvalSample(p.stem, img.rgb, None, masks)


def target_for(clip: ClipModel, sample: EvalSample, predicted: str) -> Target:
    """The class target of the sample's label, or of the prediction when there is no usable label."""
    if sample.label and sample.label in clip.catalogue.class_ids:
        return clip.catalogue.class_target(sample.label)
    return clip.catalogue.class_target(predicted)
