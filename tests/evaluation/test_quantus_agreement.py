"""Peer check: Quantus (a test-only dependency, GPL-3.0, never in the bundle) scores our engine's maps
as our own code does.

Tolerance 1e-6 on every score. Documented differences, switched off here so the definitions meet:
- pointing game: ours counts a hit within POINTING_TOLERANCE_PX (15 px) of the mask and scores tied
  maxima by the share that hit; Quantus counts a hit on the mask itself and any tied maximum as a hit.
  Compared with tolerance 0 on maps with a single maximum (checked);
- AUC: the same Mann-Whitney statistic (ties one half) as Quantus's ROC area; ours clips the map at 0;
- max-sensitivity: the same norms (Frobenius of the difference over that of the map, worst draw);
  Quantus draws its own noise, so both are given the same recorded draws.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from medgrad_desktop.core.entropy import patch_mean
from medgrad_desktop.core.explain import GradECLIPParams, analyze_batch
from medgrad_desktop.evaluation.localization import auroc, pointing_game, to_mask_size
from medgrad_desktop.evaluation.robustness import sensitivity
from medgrad_desktop.evaluation.samples import synthetic_samples

quantus = pytest.importorskip("quantus", reason="quantus (dev extra) is not installed")

TOL = 1e-6


class _Logits(torch.nn.Module):
    """The CLIP model as Quantus expects a classifier: pixels (B, 3, S, S) in [0, 255] -> class logits."""

    def __init__(self, clip):
        super().__init__()
        self.clip = clip
        self.inner = clip.model
        self.text = clip.target_embeddings(clip.catalogue.class_targets())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = (x / 255.0 - self.clip.mean) / self.clip.std
        f = torch.nn.functional.normalize(self.inner.encode_image(x).float(), dim=-1)
        return f @ self.text.T


@pytest.fixture(scope="module")
def case(tiny_model):
    clip = tiny_model
    samples = list(synthetic_samples(3, 11))
    imgs = [clip.squash(s.image) for s in samples]
    classes = clip.catalogue.class_targets()
    preds = [r.prediction.predicted_id for r in analyze_batch(clip, imgs, [], [])]
    y = np.array([[t.key for t in classes].index(p) for p in preds])

    def explain(model=None, inputs=None, targets=None, **_):
        out = []
        for x, t in zip(inputs, targets, strict=True):
            img = np.clip(np.rint(np.moveaxis(np.asarray(x).reshape(3, *imgs[0].shape[:2]), 0, -1)), 0, 255)
            r = analyze_batch(clip, [img.astype(np.uint8)], [classes[int(t)]], [GradECLIPParams()])[0]
            out.append(to_mask_size(r.get("grad-eclip", classes[int(t)]).normalized, img.shape[:2]))
        return np.stack(out)[:, None].astype(np.float32)

    x = np.stack([np.moveaxis(i, -1, 0) for i in imgs]).astype(np.float32)
    masks = np.stack(
        [to_mask_size(s.masks["target"].astype(np.float32), imgs[0].shape[:2]) > 0.5 for s in samples]
    )
    return clip, x, y, explain, masks


def test_pointing_game_and_auc_agree_with_quantus(case):
    """On the patch grid (the map as computed, the mask as its patches' majority), so that bilinear
    upsampling does not make plateaus of tied maxima."""
    clip, x, y, explain, masks = case
    classes = clip.catalogue.class_targets()
    imgs = [np.moveaxis(i, 0, -1).astype(np.uint8) for i in x]
    res = analyze_batch(clip, imgs, [classes[int(t)] for t in sorted(set(y))], [GradECLIPParams()])
    a = np.stack([r.get("grad-eclip", classes[int(t)]).normalized for r, t in zip(res, y, strict=True)])
    grid = a.shape[1:]
    masks = np.stack([patch_mean(m.astype(np.float32), grid) > 0.5 for m in masks])
    assert all((m == m.max()).sum() == 1 for m in a)  # one maximum: the tie rules do not matter
    assert masks.any(axis=(1, 2)).all()
    a = a[:, None]
    s = masks[:, None].astype(np.float32)
    kw = {"normalise": False, "abs": False, "disable_warnings": True}
    xg = np.zeros((len(a), 3, *grid), np.float32)  # neither score reads the image; only its shape
    q_point = quantus.PointingGame(**kw)(model=None, x_batch=xg, y_batch=y, a_batch=a, s_batch=s)
    q_auc = quantus.AUC(**kw)(model=None, x_batch=xg, y_batch=y, a_batch=a, s_batch=s)
    ours_point = [pointing_game(m, k, tolerance_px=0) for m, k in zip(a[:, 0], masks, strict=True)]
    ours_auc = [auroc(m, k) for m, k in zip(a[:, 0], masks, strict=True)]
    np.testing.assert_allclose(np.asarray(q_point, float), ours_point, atol=TOL)
    np.testing.assert_allclose(np.asarray(q_auc, float), ours_auc, atol=TOL)


@pytest.mark.slow
def test_max_sensitivity_agrees_with_quantus(case):
    clip, x, y, explain, _masks = case
    draws: list[np.ndarray] = []
    rng = np.random.default_rng(5)

    def perturb(arr, indices=None, indexed_axes=None, **_):
        out = np.clip(np.rint(arr + rng.uniform(-5, 5, arr.shape)), 0, 255).astype(np.float32)
        draws.append(out.copy())
        return out

    q = quantus.MaxSensitivity(
        nr_samples=3, perturb_func=perturb, normalise=False, abs=False, disable_warnings=True
    )(model=_Logits(clip), x_batch=x, y_batch=y, explain_func=explain, channel_first=True, device="cpu")
    a = explain(inputs=x, targets=y)[:, 0]
    per_draw = [
        [sensitivity(a[b], explain(inputs=d.reshape(x.shape)[b : b + 1], targets=y[b : b + 1])[0, 0])]
        for d in draws
        for b in range(len(x))
    ]
    ours = np.array(per_draw).reshape(len(draws), len(x)).max(axis=0)
    assert len(draws) == 3
    np.testing.assert_allclose(np.asarray(q, float), ours, rtol=TOL, atol=TOL)
