"""The synthetic dermoscopy generator: deterministic, exact masks, honest by construction."""

from __future__ import annotations

import csv
import json
import re
from dataclasses import replace

import cv2
import numpy as np
import pytest

from medgrad_desktop.data.synth import (
    ALL_CLASSES,
    CLASS_RECIPES,
    CLASS_SYNONYMS,
    HELD_OUT_PHRASES,
    LOW_ENTROPY_STRUCTURES,
    STRUCTURE_CRITERIA,
    SynthConfig,
    balanced_labels,
    criteria_of,
    render_sample,
    varied_caption,
)
from medgrad_desktop.resources_path import resources_dir

CFG = SynthConfig(jpeg=False)


@pytest.fixture(scope="module")
def samples():
    labels = balanced_labels(2 * len(ALL_CLASSES), len(CFG.classes), seed=11)
    return [render_sample(1000 + i, CFG, label=lab) for i, lab in enumerate(labels)]


def test_same_seed_same_image_and_masks():
    a, b = render_sample(7, SynthConfig()), render_sample(7, SynthConfig())
    assert np.array_equal(a.image, b.image)
    assert np.array_equal(a.target_mask, b.target_mask)
    assert np.array_equal(a.counterfactual, b.counterfactual)
    assert a.caption == b.caption and a.metadata["artefacts"] == b.metadata["artefacts"]
    c = render_sample(8, SynthConfig())
    assert not np.array_equal(a.image, c.image)


def test_every_catalogue_class_is_drawable(samples):
    catalogue = json.loads((resources_dir() / "catalogue.json").read_text())
    assert set(ALL_CLASSES) == {c["id"] for c in catalogue["classes"]}
    assert SynthConfig().classes == ALL_CLASSES
    assert {s.class_id for s in samples} == set(ALL_CLASSES)


def test_sample_contents(samples):
    for s in samples:
        assert s.image.shape == (224, 224, 3) and s.image.dtype == np.uint8
        for m in [s.lesion_mask, s.target_mask, *s.structure_masks.values(), *s.artefact_masks.values()]:
            assert m.shape == (224, 224) and m.dtype == bool
        assert s.target_mask.sum() > 20, f"seed {s.seed}: target {s.target_structure} has an empty mask"
        assert s.target_structure == CLASS_RECIPES[s.class_id].target
        assert s.structure_masks[s.target_structure] is s.target_mask
        assert set(s.decoy_masks) <= set(s.structure_masks)
        # a mask for every structure drawn, each with pixels
        for name in s.metadata["structures"]:
            assert s.structure_masks[name].sum() > 20, f"seed {s.seed}: {name} has an empty mask"
        # the caption names the diagnosis (in one of its wordings)
        names = CLASS_SYNONYMS.get(s.class_id, ()) + (CLASS_RECIPES[s.class_id].phrase,)
        assert any(n in s.caption for n in names), s.caption
        # the target lies on the lesion (streaks reach a little beyond the border)
        grown = cv2.dilate(s.lesion_mask.astype(np.uint8), np.ones((15, 15), np.uint8)) > 0
        assert (s.target_mask & grown).sum() >= 0.8 * s.target_mask.sum()
        assert s.metadata["generator_version"].startswith("synth-")


def test_criteria_follow_from_what_was_drawn(samples):
    for s in samples:
        drawn = [*s.metadata["structures"], *s.metadata["decoys"]]
        assert s.criteria == criteria_of(s.metadata["body"], drawn)
        for name in drawn:
            if name in STRUCTURE_CRITERIA:
                crit, opt = STRUCTURE_CRITERIA[name]
                assert s.criteria[crit] == opt, f"seed {s.seed}: {name} drawn but {crit} = {s.criteria[crit]}"
        # nothing claimed that was not drawn
        setters = {STRUCTURE_CRITERIA[n] for n in drawn if n in STRUCTURE_CRITERIA}
        for crit, opt in s.criteria.items():
            body_sets_it = crit == "pigmentation" and opt in ("absent", "regular")
            if opt != "absent" and not body_sets_it:
                assert (crit, opt) in setters, f"seed {s.seed}: {crit}={opt} without a structure"


def test_masks_aligned_with_what_is_painted():
    """Drawing the label's structures at zero strength changes the image only inside their masks."""
    cfg = SynthConfig(jpeg=False, artefact_rate=0.0, decoy_rate=0.0, counterfactual=False)
    for label in range(len(ALL_CLASSES)):
        s = render_sample(300 + label, cfg, label=label)
        blank = render_sample(300 + label, replace(cfg, structure_strength=0.0), label=label)
        diff = np.abs(s.image.astype(np.int16) - blank.image.astype(np.int16)).max(-1) > 12
        union = np.zeros_like(diff)
        for name in s.metadata["structures"]:
            union |= s.structure_masks[name]
        near = cv2.dilate(union.astype(np.uint8), np.ones((5, 5), np.uint8)) > 0
        assert diff.sum() > 20, s.class_id
        assert (diff & ~near).sum() <= 0.03 * diff.sum() + 5, f"{s.class_id}: paint outside its masks"


def test_held_out_phrasings_never_in_training_captions():
    rng = np.random.default_rng(0)
    criteria = {"pigment_network": "atypical", "blue_whitish_veil": "present", "vascular_structures": "atypical",
                "pigmentation": "irregular", "streaks": "irregular", "dots_and_globules": "irregular",
                "regression_structures": "present"}
    train = [varied_caption("melanoma", criteria, ["blue_whitish_veil"], rng) for _ in range(400)]
    every = [varied_caption("melanoma", criteria, ["blue_whitish_veil"], rng, "all") for _ in range(400)]

    def says(caption: str, phrase: str) -> bool:  # as words: "regular network" is not in "irregular network"
        return re.search(rf"(?<![\w-]){re.escape(phrase)}(?![\w-])", caption) is not None

    assert not any(says(c, p) for c in train for p in HELD_OUT_PHRASES)
    held = [p for p, (c, o) in HELD_OUT_PHRASES.items() if criteria.get(c) == o]
    assert held and any(says(c, p) for c in every for p in held)
    assert len(set(train)) > 100  # wording varies


def test_counterfactual_differs_only_where_the_target_was(samples):
    for s in samples:
        assert s.counterfactual is not None and s.counterfactual.shape == s.image.shape
        diff = s.counterfactual_diff_mask
        assert diff.sum() > 10
        near_target = cv2.dilate(s.target_mask.astype(np.uint8), np.ones((7, 7), np.uint8)) > 0
        assert (diff & ~near_target).sum() <= 0.02 * diff.sum() + 5, f"seed {s.seed}"


def test_label_independent_nuisances():
    """Skin tone, lesion geometry, decoys and artefacts come from their own seeds, not the label (the
    border's irregularity is a hallmark of some classes, so compare two that share the default)."""
    a = render_sample(42, CFG, label=ALL_CLASSES.index("lentigo"))
    b = render_sample(42, CFG, label=ALL_CLASSES.index("clark_nevus"))
    assert CLASS_RECIPES[a.class_id].irregularity is None and CLASS_RECIPES[b.class_id].irregularity is None
    assert a.class_id != b.class_id
    for key in ("skin_tone", "lesion_center", "lesion_radius", "decoys"):
        assert a.metadata[key] == b.metadata[key]
    assert np.array_equal(a.lesion_mask, b.lesion_mask)


def test_honesty_rules(samples):
    not_max = np.mean([not s.metadata["target_is_entropy_max"] for s in samples])
    low = np.mean([s.target_structure in LOW_ENTROPY_STRUCTURES for s in samples])
    assert not_max >= 0.7, f"target is the entropy maximum in {1 - not_max:.0%} of images"
    assert low >= 0.3
    centres = np.array([s.metadata["lesion_center"] for s in samples])
    assert np.abs(centres - 0.5).max() > 0.12, "lesions should not all sit in the centre"
    assert np.all(np.abs(centres - 0.5) <= 0.30 + 1e-6)
    assert any(s.decoy_masks for s in samples) and any(s.artefact_masks for s in samples)
    assert len({s.metadata["skin_tone"] for s in samples}) >= 3


def test_shortcut_variant_predicts_label_about_90_percent():
    cfg = SynthConfig(size=64, counterfactual=False, shortcut=True, shortcut_artefact="ruler",
                      max_entropy_retries=1, jpeg=False)
    labels = balanced_labels(60, len(cfg.classes), seed=3)
    hits = []
    for i, lab in enumerate(labels):
        s = render_sample(500 + i, cfg, label=lab)
        predicts_melanoma = "ruler" in s.artefact_masks
        hits.append(predicts_melanoma == (s.class_id == "melanoma"))
        assert s.metadata["shortcut_artefact_present"] == predicts_melanoma
    assert 0.8 <= np.mean(hits) <= 0.98


def test_config_knobs():
    dark = render_sample(3, SynthConfig(skin_tones=(5,), artefact_rate=0.0, counterfactual=False))
    assert dark.metadata["skin_tone"] == 5
    assert dark.artefact_masks == {}
    small = render_sample(3, replace(CFG, size=96, counterfactual=False))
    assert small.image.shape == (96, 96, 3) and small.target_mask.shape == (96, 96)
    with pytest.raises(ValueError, match="no synthetic recipe"):
        render_sample(1, SynthConfig(classes=("melanoma", "not_a_lesion")))
    with pytest.raises(ValueError, match="phrasing"):
        render_sample(1, SynthConfig(phrasing="some"))


def test_cli_writes_dataset_that_reads_back(tmp_path):
    from medgrad_desktop.cli import main
    from medgrad_desktop.data.readers import read_dataset

    out = tmp_path / "synth"
    assert main(["synth", str(out), "--n", "6", "--seed", "5", "--skin-tones", "0,1", "--artefact-rate", "0.3"]) == 0
    with open(out / "manifest.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 6
    for r in rows:
        for col in ("path", "mask", "target_mask", "counterfactual", "diff_mask", "masks_npz"):
            assert (out / r[col]).is_file(), col
        assert int(r["skin_tone"]) in (0, 1)
        npz = np.load(out / r["masks_npz"])
        assert "target" in npz.files and "lesion" in npz.files
    ds = read_dataset(out)
    assert [rec.label for rec in ds.records] == [r["label"] for r in rows]
    assert all(rec.criteria for rec in ds.records)


def test_cli_rejects_bad_options(tmp_path):
    from medgrad_desktop.cli import main

    with pytest.raises(SystemExit, match="skin-tones"):
        main(["synth", str(tmp_path / "x"), "--n", "2", "--skin-tones", "9"])
    with pytest.raises(SystemExit, match="artefact-rate"):
        main(["synth", str(tmp_path / "x"), "--n", "2", "--artefact-rate", "2"])
