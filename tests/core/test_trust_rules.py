"""The rules that say when a map or a typed text is not to be trusted, and the overlay's blending: each
stated once in the core (no Qt) and used by the app, the CLI and the reports."""

from __future__ import annotations

import json

import numpy as np
import pytest

from medgrad_desktop.core.card import ModelCard
from medgrad_desktop.core.heatmap import Heatmap
from medgrad_desktop.core.map_evidence import EMPTY_MAP_RULE, EmptyMapRule, no_evidence_text
from medgrad_desktop.core.prediction import criterion_text
from medgrad_desktop.core.prompts import Target
from medgrad_desktop.core.render import OVERLAY_ALPHAS, blend, colorbar, colorize, overlay_alpha, overlay_rgba
from medgrad_desktop.core.text_match import (
    FREE_TEXT_RULE,
    UNMATCHED_TEXT,
    free_text_warnings,
    known_words,
    unknown_words,
)
from medgrad_desktop.data.synth.captions import caption_words
from medgrad_desktop.resources_path import resources_dir
from medgrad_desktop.training.make_demo import text_tower_card, training_words


def heatmap(raw: np.ndarray) -> Heatmap:
    return Heatmap(
        "gradcam", Target.free_text("x"), 0.3, raw.astype(np.float32), raw.astype(np.float32), (8, 8)
    )


def test_all_zero_flat_and_nan_maps_are_empty_and_a_faint_real_map_is_not():
    zero, flat = np.zeros((4, 4)), np.full((4, 4), 0.25)
    assert heatmap(zero).empty and heatmap(zero).empty_reason == "raw relevance all zero"
    assert heatmap(flat).empty and "flat" in heatmap(flat).empty_reason
    noisy = flat.copy()
    noisy[0, 0] += 1e-7  # float noise that min-max would stretch into a sharp spot
    assert heatmap(noisy).empty
    nan = zero.copy()
    nan[1, 1] = np.nan
    assert heatmap(nan).empty
    faint = zero.copy()
    faint[2, 3] = 2e-4  # the faintest real map seen on the demo model (Grad-CAM)
    assert not heatmap(faint).empty and heatmap(faint).empty_reason == ""
    assert EmptyMapRule(min_spread=1e-3).is_empty(faint)
    rule = EMPTY_MAP_RULE.to_dict()
    assert rule["min_spread"] == 1e-6 and "max - min" in rule["rule"]
    assert no_evidence_text("Melanoma") == "no positive evidence for Melanoma in this image"


def test_overlay_alpha_follows_relevance_and_the_app_and_reports_blend_alike():
    ramp = overlay_alpha("ramp")
    v = np.array([[0.0, 0.2, 0.4], [0.6, 0.8, 1.0]], np.float32)
    assert ramp.weights(v) == pytest.approx(np.array([[0, 0, 0.5], [1, 1, 1]]))
    assert overlay_alpha("uniform").weights(v) == pytest.approx(np.ones_like(v))
    assert overlay_alpha("linear").weights(v) == pytest.approx(v)
    with pytest.raises(ValueError, match="ramp"):
        overlay_alpha("nope")
    rng = np.random.default_rng(0)
    rgb = rng.integers(0, 256, (6, 9, 3), dtype=np.uint8)
    values = rng.random((6, 9)).astype(np.float32)
    values[0, 0] = 0.05  # low relevance: the lesion's own colour, untouched
    out = blend(rgb, values, 0.5, "inferno")
    assert (out[0, 0] == rgb[0, 0]).all()
    # what the viewer draws (the RGBA overlay at the slider's opacity) is what the reports blend
    rgba = overlay_rgba(values, "inferno").astype(np.float32)
    a = 0.5 * rgba[..., 3:] / 255.0
    composed = np.clip((1 - a) * rgb + a * rgba[..., :3] + 0.5, 0, 255).astype(np.uint8)
    assert np.abs(composed.astype(int) - out.astype(int)).max() <= 1
    # the uniform setting is the plain blend, to the last bit
    heat = colorize(values, "jet").astype(np.float32)
    plain = np.clip(0.5 * rgb.astype(np.float32) + 0.5 * heat + 0.5, 0, 255).astype(np.uint8)
    assert (blend(rgb, values, 0.5, "jet", alpha="uniform") == plain).all()
    assert set(OVERLAY_ALPHAS) >= {"ramp", "uniform"}
    # the colour bar fades as the overlay does: full colour on top, a grey checkerboard at the bottom
    bar, plain_bar = colorbar(100, 8, "inferno", "ramp"), colorbar(100, 8, "inferno")
    assert (bar[0] == plain_bar[0]).all() and set(np.unique(bar[-1])) <= {204, 238}


def test_criterion_reads_as_finding_then_its_probability():
    assert criterion_text("Blue-whitish veil", "absent", 0.997) == "Blue-whitish veil: absent, 99.7%"
    assert criterion_text("Pigment network", "atypical", 0.42) == "Pigment network: atypical, 42%"


@pytest.fixture(scope="module")
def demo_card() -> ModelCard:
    path = resources_dir() / "demo" / "model" / "demo-model.card.json"
    if not path.exists():
        pytest.skip("bundled demo card missing")
    return ModelCard.from_json(
        path.read_text(),
        weights_path=None,
        weights_sha256="0" * 64,
        weights_format="safetensors",
        input_size=160,
    )


def test_the_demo_card_lists_the_words_of_its_training_texts(demo_card):
    listed = demo_card.text_tower_record["training_words"]
    assert listed == training_words() == text_tower_card()["training_words"]  # make_demo writes the same
    assert set(caption_words()) <= set(listed) and {"dermoscopic", "photo", "skin"} <= set(listed)
    # a held-out wording only recombines words the captions use
    held_out = demo_card.text_tower_record["held_out_phrases"]
    assert all(unknown_words(demo_card, p) == [] for p in held_out)


def test_words_the_model_never_saw_are_named_and_a_card_without_a_record_names_none(demo_card):
    assert unknown_words(demo_card, "banana") == ["banana"]
    assert unknown_words(demo_card, "Banana bread, banana!") == ["banana", "bread"]
    assert unknown_words(demo_card, "Blue-White veil with irregular streaks") == []
    bare = ModelCard.from_json(
        json.dumps(
            {
                "name": "x",
                "architecture": "MedGrad-Tiny",
                "arch_config": {},
                "quick_gelu": False,
                "mean": [0, 0, 0],
                "std": [1, 1, 1],
            }
        ),
        weights_path=None,
        weights_sha256="0" * 64,
        weights_format="safetensors",
        input_size=224,
    )
    assert known_words(bare) is None and unknown_words(bare, "banana") == []
    low = free_text_warnings(demo_card, "banana", FREE_TEXT_RULE.min_score - 0.01)
    assert low["unknown_words"] == ["banana"] and not low["matches_image"]
    assert low["warnings"] == ["the model was never trained on: banana", UNMATCHED_TEXT]
    assert low["rule"]["min_score"] == FREE_TEXT_RULE.min_score and low["rule"]["reason"]
    fine = free_text_warnings(demo_card, "dark blotch", FREE_TEXT_RULE.min_score)
    assert fine["matches_image"] and fine["warnings"] == []
