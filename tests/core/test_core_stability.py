"""The stability rule (`core.stability`): its noisy copies are deterministic and of the stated size,
the figure is max-sensitivity over them, the words follow the threshold, and a flat or empty map has
no figure."""

from __future__ import annotations

from dataclasses import FrozenInstanceError, replace

import numpy as np
import pytest

from medgrad_desktop.core.stability import STABILITY_RULE, STABLE_TEXT, UNSTABLE_TEXT, StabilityRule


def _image() -> np.ndarray:
    return np.random.default_rng(3).integers(0, 256, (32, 40, 3), dtype=np.uint8)


def test_the_copies_are_deterministic_and_within_the_stated_noise():
    rule = replace(STABILITY_RULE, copies=3)
    img = _image()
    a, b = rule.noisy_copies(img), rule.noisy_copies(img)
    assert len(a) == 3
    for x, y in zip(a, b, strict=True):
        assert np.array_equal(x, y) and x.dtype == np.uint8 and x.shape == img.shape
        d = np.abs(x.astype(int) - img.astype(int))
        assert d.max() <= rule.noise_255 and d.max() >= rule.noise_255 - 1  # the full width is used
    assert not np.array_equal(a[0], a[1])  # each copy its own noise
    assert not np.array_equal(rule.noisy_copies(img)[0], replace(rule, seed=1).noisy_copies(img)[0])


def test_the_figure_is_the_worst_relative_change_and_the_words_follow_the_threshold():
    rule = StabilityRule(copies=2, compare_cells=4)
    base = np.zeros((4, 4), np.float32)
    base[1:3, 1:3] = 1.0
    same = base.copy()
    moved = np.roll(base, 1, axis=1)
    assert rule.score(base, [same]) == 0.0
    expected = float(np.linalg.norm(base - moved) / np.linalg.norm(base))
    assert rule.score(base, [same, moved]) == pytest.approx(expected)  # the worst copy counts
    assert rule.words(0.0) == STABLE_TEXT
    assert rule.words(rule.unstable_above) == STABLE_TEXT
    assert rule.words(rule.unstable_above + 0.01) == UNSTABLE_TEXT
    assert rule.text(0.123) == f"Stability: 0.12 · {STABLE_TEXT}"
    assert "±5/255" in rule.how_measured() and f"{rule.unstable_above:g}" in rule.how_measured()


def test_a_flat_or_empty_map_has_no_figure():
    rule = STABILITY_RULE
    other = np.random.default_rng(0).random((7, 7)).astype(np.float32)
    assert rule.score(np.zeros((7, 7), np.float32), [other]) is None
    assert rule.score(np.full((7, 7), 0.5, np.float32), [other]) is None
    assert not rule.measurable(np.zeros((0, 0), np.float32))
    assert rule.score(other, []) is None


def test_the_rule_is_one_frozen_value():
    with pytest.raises(FrozenInstanceError):
        STABILITY_RULE.copies = 5  # type: ignore[misc]
