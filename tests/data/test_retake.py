"""A visit's retest copies: deterministic per index whatever K is, carrying the rule's artefacts, on any
photo size and aspect, and exactly the generator's drawing at its own side."""

from __future__ import annotations

import numpy as np

from medgrad_desktop.core.retest import RetestRule, rephotograph
from medgrad_desktop.data.retake import retest_copies, retest_copy, with_artefact
from medgrad_desktop.data.synth.artefacts import draw_artefact

ART = RetestRule(copies=8, artefacts=("hairs", "bubbles"))


def _skin(h: int, w: int) -> np.ndarray:
    rng = np.random.default_rng(1)
    return np.clip(rng.normal(170, 10, (h, w, 3)), 0, 255).astype(np.uint8)


def test_copy_i_is_the_same_whatever_k():
    img = _skin(224, 224)
    eight = retest_copies(img, ART)
    four = retest_copies(img, RetestRule(copies=4, artefacts=("hairs", "bubbles")))
    assert len(eight) == 8 and all(np.array_equal(a, b) for a, b in zip(four, eight[:4], strict=False))
    assert not np.array_equal(eight[0], eight[1])
    # without artefacts a copy is the pose-and-light copy alone
    assert np.array_equal(retest_copy(img, 2, RetestRule()), rephotograph(img, 2))


def test_artefacts_are_drawn_and_alternate():
    img = _skin(224, 224)
    plain = [rephotograph(img, i) for i in range(2)]
    copies = retest_copies(img, RetestRule(copies=2, artefacts=("hairs", "bubbles")))
    for p, c in zip(plain, copies, strict=True):
        changed = np.abs(c.astype(int) - p).max(axis=2) > 8
        assert 0.001 < changed.mean() < 0.5  # a visible artefact, not a new image
    # at the generator's side the copy is exactly its drawing (hairs for copy 0)
    expected = plain[0].astype(np.float32)
    draw_artefact("hairs", np.random.default_rng([ART.artefact_seed, 0]), expected, 1.0)
    assert np.array_equal(copies[0], np.clip(np.rint(expected), 0, 255).astype(np.uint8))


def test_artefacts_on_a_large_non_square_photo_keep_their_relative_size():
    small, big = _skin(224, 224), _skin(600, 900)
    a = with_artefact(small, "hairs", np.random.default_rng(3), 224)
    b = with_artefact(big, "hairs", np.random.default_rng(3), 224)
    assert b.shape == big.shape and b.dtype == np.uint8
    share = [(np.abs(x.astype(int) - y).max(axis=2) > 8).mean() for x, y in ((a, small), (b, big))]
    assert share[1] > 0.5 * share[0] and share[1] < 2.0 * share[0]
    assert (np.abs(b.astype(int) - big).max(axis=2) > 8)[:, 600:].any()  # drawn across the whole width
