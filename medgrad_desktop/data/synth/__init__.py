"""Synthetic dermoscopy images with exact masks: the project's own data, since none can be downloaded.

Why: an explanation can only be scored against regions the model demonstrably uses, and the demo
model needs training data. Every image is drawn from a seed (numpy + OpenCV only), so any number
quoted with `GENERATOR_VERSION` and the seed can be reproduced bit for bit.

API
---
    from medgrad_desktop.data.synth import SynthConfig, render_sample, CLASS_STRUCTURES

    cfg = SynthConfig()                       # 224x224, 6 classes, artefact_rate 0.6, all skin tones
    s = render_sample(seed=7, config=cfg)     # label drawn from the seed; or render_sample(7, cfg, label=2)
    s.image            # (H, W, 3) uint8 RGB
    s.label            # index into cfg.classes;  s.class_id -> catalogue id, e.g. "melanoma"
    s.caption          # "melanoma, absent pigment network, blue-whitish veil, ..." (MedGrad style)
    s.criteria         # {criterion_id: option_id} for the 7 catalogue criteria
    s.lesion_mask      # (H, W) bool
    s.structure_masks  # {name: bool mask} for every structure drawn (target and decoys)
    s.target_structure, s.target_mask      # the label-defining structure
    s.decoy_masks      # {name: mask} label-independent structures in other sectors
    s.artefact_masks   # {name: mask}: hairs, ruler, bubbles, vignette, calibration_patch, glints
    s.counterfactual   # the same seed drawn without the target structure (None if not requested)
    s.counterfactual_diff_mask             # pixels that differ between the two (> 8 grey levels)
    s.metadata         # skin_tone, lesion_radius, lesion_center, artefact_rate, n_artefacts,
                       # target_entropy_rank, target_is_entropy_max, shortcut_artefact, version, ...

Classes and their defining structure (`CLASS_STRUCTURES`), a 6-class subset of the catalogue:
melanoma = blue-whitish veil (low entropy), lentigo = flat dark blotch / irregular pigmentation (low
entropy), clark nevus = typical pigment network, reed/spitz nevus = regular streaks at the periphery,
dermal nevus = regular dots and globules, basal cell carcinoma = arborizing vessels ("regular vascular
structures", as Derm7pt groups them). Two of six targets are low-entropy, so with balanced labels
>= 30 % of targets are low-entropy.

Keeping it honest (EXPLANATION-BENCHMARK.md): the lesion centre is anywhere within +-30 % of the
image centre; decoys (regression structures, milia-like cysts, hypopigmented areas: label-independent,
recorded in `decoy_masks`) sit in other sectors; artefacts, skin tone and lesion size are drawn from
their own seeds, independently of the label; the artefacts are re-drawn (up to `max_entropy_retries`
times) until the target is not the patch with the highest local entropy, except for a seeded fraction
`entropy_peak_allowance` of images, so >= 70 % of targets are not the entropy maximum when artefacts
are on. With `shortcut=True` an artefact (`shortcut_artefact`, ruler or bubbles) is present in 90 % of
images of `shortcut_class` and in 10 % of the others, so "ruler => class" is right 90 % of the time.

Layout: `vocabulary` (classes, criteria, phrases), `painting` (primitives, skin, lesion body),
`structures` and `artefacts` (one drawing function each, in a registry), `entropy_rank`, `render`
(one sample).

Determinism: every component draws from its own generator, seeded from the sample's seed and the
component's name (see `render`).
"""

from medgrad_desktop.data.synth.artefacts import ARTEFACT_TYPES, ARTEFACTS
from medgrad_desktop.data.synth.captions import caption_for, finding_phrases, varied_caption
from medgrad_desktop.data.synth.entropy_rank import target_entropy_rank
from medgrad_desktop.data.synth.painting import BODY_STYLES, SKIN_TONES
from medgrad_desktop.data.synth.render import (
    GENERATOR_VERSION,
    SynthConfig,
    SynthSample,
    balanced_labels,
    config_to_dict,
    criteria_of,
    render_sample,
)
from medgrad_desktop.data.synth.structures import STRUCTURES
from medgrad_desktop.data.synth.vocabulary import (
    ALL_CLASSES,
    CLASS_PHRASES,
    CLASS_RECIPES,
    CLASS_STRUCTURES,
    CLASS_SYNONYMS,
    CRITERIA_ORDER,
    CRITERION_DEFAULTS,
    CRITERION_PHRASES,
    DECOY_TYPES,
    FINDING_PHRASES,
    HELD_OUT_PHRASES,
    LEGACY_CLASSES,
    LOW_ENTROPY_STRUCTURES,
    STRUCTURE_CRITERIA,
    STRUCTURE_PHRASES,
)

__all__ = [
    "ALL_CLASSES",
    "ARTEFACTS",
    "ARTEFACT_TYPES",
    "BODY_STYLES",
    "CLASS_PHRASES",
    "CLASS_RECIPES",
    "CLASS_STRUCTURES",
    "CLASS_SYNONYMS",
    "CRITERIA_ORDER",
    "CRITERION_DEFAULTS",
    "CRITERION_PHRASES",
    "DECOY_TYPES",
    "FINDING_PHRASES",
    "GENERATOR_VERSION",
    "HELD_OUT_PHRASES",
    "LEGACY_CLASSES",
    "LOW_ENTROPY_STRUCTURES",
    "SKIN_TONES",
    "STRUCTURES",
    "STRUCTURE_CRITERIA",
    "STRUCTURE_PHRASES",
    "SynthConfig",
    "SynthSample",
    "balanced_labels",
    "caption_for",
    "config_to_dict",
    "criteria_of",
    "finding_phrases",
    "render_sample",
    "target_entropy_rank",
    "varied_caption",
]
