"""Randomization sanity checks and the perturbation score on the tiny random-init model (runs in CI)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from medgrad_desktop.core.classify import classify
from medgrad_desktop.core.explain import METHODS, default_params
from medgrad_desktop.evaluation.sanity import (
    _grids,
    cascade_steps,
    randomized_text_tower,
    randomized_visual,
    sanity_checks,
)
from medgrad_desktop.evaluation.scoring import CompetitorSoftmax, competitors_for


def _images(n: int) -> list[np.ndarray]:
    out = []
    for i in range(n):
        rng = np.random.default_rng(i)
        img = np.full((224, 224, 3), 180, np.uint8)
        cy, cx = rng.integers(60, 160, 2)
        yy, xx = np.mgrid[:224, :224]
        img[(yy - cy) ** 2 + (xx - cx) ** 2 < 40**2] = (90, 50, 30)
        img = np.clip(img.astype(int) + rng.integers(-20, 20, img.shape), 0, 255).astype(np.uint8)
        out.append(img)
    return out


def test_score_is_the_class_probability_the_app_shows(tiny_model):
    imgs = _images(2)
    classes = tiny_model.catalogue.class_targets()
    probs = CompetitorSoftmax(tiny_model, classes)(np.stack(imgs))
    ref = classify(tiny_model, imgs)
    for p, r in zip(probs, ref, strict=True):
        np.testing.assert_allclose(p, r.probabilities, rtol=1e-4, atol=1e-6)
    with pytest.raises(ValueError, match="uint8 images"):
        CompetitorSoftmax(tiny_model, classes)(np.zeros((1, 100, 100, 3), np.uint8))


def test_competitors_of_a_criterion_are_its_options(tiny_model):
    cat = tiny_model.catalogue
    comp, idx = competitors_for(tiny_model, cat.criterion_target("blue_whitish_veil", "present"))
    assert [t.key for t in comp] == ["blue_whitish_veil:absent", "blue_whitish_veil:present"] and idx == 1
    comp, idx = competitors_for(tiny_model, cat.class_target("melanoma"))
    assert len(comp) == len(cat.classes) and comp[idx].key == "melanoma"


def test_randomized_copies_leave_the_original_untouched(tiny_model):
    before = {k: v.clone() for k, v in tiny_model.model.state_dict().items()}
    steps = cascade_steps(tiny_model)
    assert steps == ["top-1", "top-2", "all-visual"]  # MedGrad-Tiny has two blocks
    top1 = randomized_visual(tiny_model, "top-1", seed=0)
    sd = top1.model.state_dict()
    assert not torch.equal(
        sd["visual.transformer.resblocks.1.attn.in_proj_weight"],
        before["visual.transformer.resblocks.1.attn.in_proj_weight"],
    )
    assert torch.equal(
        sd["visual.transformer.resblocks.0.attn.in_proj_weight"],
        before["visual.transformer.resblocks.0.attn.in_proj_weight"],
    )
    w = before["visual.transformer.resblocks.1.mlp.c_fc.weight"]
    w2 = sd["visual.transformer.resblocks.1.mlp.c_fc.weight"]
    assert abs(float(w2.std()) - float(w.std())) < 0.1 * float(w.std())  # same scale, new draw
    txt = randomized_text_tower(tiny_model, seed=0)
    assert torch.equal(txt.model.state_dict()["visual.proj"], before["visual.proj"])
    for k, v in tiny_model.model.state_dict().items():
        assert torch.equal(v, before[k]), k


def test_maps_of_the_same_model_correlate_perfectly_and_randomization_lowers_it(tiny_model):
    imgs = _images(4)
    targets = [tiny_model.catalogue.class_target("melanoma")] * 4
    params = [default_params(m) for m in METHODS]
    a = _grids(tiny_model, imgs, targets, params)
    b = _grids(tiny_model, imgs, targets, params)
    from medgrad_desktop.evaluation.stats import spearman

    assert all(spearman(x, y) == pytest.approx(1.0) for m in a for x, y in zip(a[m], b[m], strict=True))
    res = sanity_checks(tiny_model, imgs, targets, params, seed=0)
    assert set(res) == {"top-1", "top-2", "all-visual", "random-text", "text-tower"}
    for check in ("top-2", "all-visual"):
        for m in ("gradcam", "grad-eclip"):
            vals = np.array(res[check][m])
            assert np.nanmean(vals) < 0.6, (check, m, vals)
    assert all(len(v) == 4 for per in res.values() for v in per.values())
