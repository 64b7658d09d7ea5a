"""The model side of the stability figure (`core.explain.stability.measure_stability`), the one measure
the app's job and the reports call: each map's figure is the rule's score against the same method and
target explained on the rule's noisy copies, all methods in one pass; a flat map has none and costs no
pass."""

from __future__ import annotations

import numpy as np
import pytest

import medgrad_desktop.core.explain.stability as stability_mod
from medgrad_desktop.core.explain import METHODS, analyze_batch, default_params
from medgrad_desktop.core.stability import STABILITY_RULE


def _rgb() -> np.ndarray:
    return np.random.default_rng(11).integers(0, 256, (90, 120, 3), dtype=np.uint8)


def test_each_figure_is_the_rules_score_over_the_noisy_copies(tiny_model, monkeypatch):
    clip, rgb = tiny_model, _rgb()
    target = clip.catalogue.class_targets()[0]
    params = [default_params(m) for m in METHODS]
    base = analyze_batch(clip, [rgb], [target], params, with_prediction=False)[0]
    bases = [base.get(p.method, target).normalized for p in params]
    passes = []

    def counting(*a, **k):
        passes.append(len(a[1]))
        return analyze_batch(*a, **k)

    monkeypatch.setattr(stability_mod, "analyze_batch", counting)
    got = stability_mod.measure_stability(clip, rgb, target, params, bases)
    assert passes == [STABILITY_RULE.copies]  # every method in one pass over the copies
    copies = STABILITY_RULE.noisy_copies(clip.squash(rgb))
    for p, b, value in zip(params, bases, got, strict=True):
        noisy = [
            r.get(p.method, target).normalized
            for r in analyze_batch(clip, copies, [target], [p], with_prediction=False)
        ]
        assert value == pytest.approx(STABILITY_RULE.score(b, noisy), abs=1e-5)
        assert value is not None and value >= 0


def test_a_flat_map_has_no_figure_and_costs_no_pass(tiny_model, monkeypatch):
    clip, rgb = tiny_model, _rgb()
    target = clip.catalogue.class_targets()[0]
    monkeypatch.setattr(stability_mod, "analyze_batch", lambda *a, **k: pytest.fail("no pass for a flat map"))
    flat = np.zeros((7, 7), np.float32)
    assert stability_mod.measure_stability(clip, rgb, target, [default_params("medgrad")], [flat]) == [None]
    with pytest.raises(ValueError):
        stability_mod.measure_stability(clip, rgb, target, [default_params("medgrad")], [])
