"""The robustness protocol: perturbations deterministic and of the stated strength, the scores' definitions,
and an attack that keeps the class and moves a map more than random noise of the same size."""

from __future__ import annotations

import io
import json

import numpy as np
import pytest
import torch
from PIL import Image

from medgrad_desktop.cli import main
from medgrad_desktop.core.explain import GradECLIPParams, analyze_batch, default_params
from medgrad_desktop.evaluation.attack import attack_maps, differentiable_maps
from medgrad_desktop.evaluation.perturb import (
    ARTEFACT_KINDS,
    ARTEFACT_MASK_LEVELS,
    DEFAULT_PERTURBATIONS,
    Perturbation,
    apply,
    insert_artefact,
    map_back,
)
from medgrad_desktop.evaluation.robustness import (
    bootstrap_median_ratio,
    relative_input_stability,
    sensitivity,
    stability_answer,
    top_intersection,
)
from medgrad_desktop.evaluation.robustness_plot import curves
from medgrad_desktop.evaluation.samples import synthetic_samples

GREY = np.full((96, 96, 3), 128, np.uint8)  # mid-grey: no clipping, so the stated strength is exact


def _textured(seed: int = 0, size: int = 96) -> np.ndarray:
    return np.random.default_rng(seed).integers(40, 216, (size, size, 3), dtype=np.uint8)


@pytest.mark.parametrize("p", DEFAULT_PERTURBATIONS, ids=lambda p: p.key)
def test_each_perturbation_is_deterministic_from_its_seed(p):
    img = _textured()
    a, wa = apply(p, img, 7)
    b, wb = apply(p, img, 7)
    assert np.array_equal(a, b) and a.dtype == np.uint8 and a.shape == img.shape
    assert (wa is None) == (wb is None) and (wa is None or np.array_equal(wa, wb))
    assert not np.array_equal(a, img)
    if p.stochastic:
        assert not np.array_equal(a, apply(p, img, 8)[0])


@pytest.mark.parametrize("w", [2, 5, 8])
def test_uniform_noise_has_its_stated_half_width(w):
    d = apply(Perturbation("uniform", w, True), GREY, 1)[0].astype(int) - 128
    assert np.abs(d).max() == w
    assert abs(np.abs(d).mean() - w / 2) < 0.1 * w


@pytest.mark.parametrize("sigma", [2, 5, 8])
def test_gaussian_noise_has_its_stated_sigma(sigma):
    d = apply(Perturbation("gaussian", sigma, True), GREY, 1)[0].astype(float) - 128
    assert abs(d.std() - sigma) < 0.05 * sigma + 0.05 and abs(d.mean()) < 0.1


@pytest.mark.parametrize("q", [90, 70])
def test_jpeg_is_a_pil_reencoding_at_the_quality(q):
    img = _textured()
    buf = io.BytesIO()
    Image.fromarray(img).save(buf, format="JPEG", quality=q)
    assert np.array_equal(apply(Perturbation("jpeg", q), img, 0)[0], np.array(Image.open(buf).convert("RGB")))


def test_jpeg_70_changes_more_than_jpeg_90():
    img = _textured()
    err = [np.abs(apply(Perturbation("jpeg", q), img, 0)[0].astype(int) - img).mean() for q in (90, 70)]
    assert err[1] > err[0] > 0


@pytest.mark.parametrize("f", [0.04, 0.08])
def test_brightness_shifts_by_the_stated_fraction(f):
    d = apply(Perturbation("brightness", f), GREY, 3)[0].astype(float) - 128
    assert abs(abs(d.mean()) - f * 255) <= 0.5 and d.std() == 0


@pytest.mark.parametrize("f", [0.08, 0.15])
def test_contrast_scales_about_the_mean_by_the_stated_fraction(f):
    img = _textured()
    out = apply(Perturbation("contrast", f), img, 3)[0].astype(float)
    ratio = out.std() / img.astype(float).std()
    assert abs(abs(ratio - 1) - f) < 0.01


@pytest.mark.parametrize("f", [0.04, 0.08])
def test_white_balance_largest_gain_is_the_stated_fraction(f):
    out = apply(Perturbation("white_balance", f), GREY, 5)[0].astype(float)
    gains = out.reshape(-1, 3).mean(axis=0) / 128
    assert abs(np.abs(gains - 1).max() - f) < 0.5 / 128 + 1e-9


@pytest.mark.parametrize("s", [2, 4])
def test_shift_rotation_has_its_stated_size_and_maps_back(s):
    img = _textured(size=160)
    out, warp = apply(Perturbation("shift_rotate", s), img, 9)
    assert abs(abs(np.degrees(np.arctan2(warp[0, 1], warp[0, 0]))) - s) < 1e-6
    centre = np.array([80.0, 80.0])
    moved = warp[:, :2] @ centre + warp[:, 2] - centre
    assert abs(np.hypot(*moved) - s / 100 * 160) < 1e-6
    smooth = np.add.outer(np.arange(160.0), np.arange(160.0))  # a map in the original frame
    warped = map_back(smooth, np.linalg.inv(np.vstack([warp, [0, 0, 1]]))[:2])  # into the new frame
    back = map_back(warped, warp)
    inner = slice(30, 130)
    assert np.abs(back[inner, inner] - smooth[inner, inner]).max() < 0.5


@pytest.mark.parametrize("kind", ARTEFACT_KINDS)
def test_artefact_insertion_is_seeded_and_changes_the_image_within_its_mask(kind):
    img = _textured(size=160)
    a, ma = insert_artefact(img, kind, np.random.default_rng(4))
    b, mb = insert_artefact(img, kind, np.random.default_rng(4))
    assert np.array_equal(a, b) and np.array_equal(ma, mb) and ma.any()
    changed = np.abs(a.astype(int) - img).max(axis=2) > ARTEFACT_MASK_LEVELS
    assert changed.any() and not (changed & ~ma).any()  # every visible change is on the mask
    assert ma.mean() < 0.5  # and the mask is the artefact, not the image


def test_scores_follow_their_definitions():
    e = np.arange(100, dtype=float).reshape(10, 10)
    assert sensitivity(e, e) == 0 and top_intersection(e, e) == 1.0
    assert sensitivity(e, 2 * e) == pytest.approx(1.0)
    assert top_intersection(e, -e) == 0.0
    x = np.full((4, 4, 3), 100, np.uint8)
    x2 = x.copy()
    x2[0, 0, 0] = 110
    e1 = np.ones((2, 2))
    e2 = e1.copy()
    e2[0, 0] = 1.5
    # ||(e - e')/e|| = 0.5; ||(x - x')/x|| = 0.1: RIS = 5
    assert relative_input_stability(e1, e2, x, x2) == pytest.approx(5.0, rel=1e-5)
    iv = bootstrap_median_ratio([2, 4, 6, np.nan], [1, 2, 3, 1], n_boot=200, seed=0)
    assert iv.mean == 2.0 and iv.lo == 2.0 and iv.hi == 2.0 and iv.n == 3


@pytest.fixture(scope="module")
def attack_case(tiny_model):
    clip = tiny_model
    imgs = [clip.squash(s.image) for s in synthetic_samples(4, 21)]
    ids = [r.prediction.predicted_id for r in analyze_batch(clip, imgs, [], [])]
    return clip, imgs, ids


@pytest.mark.parametrize("method", ["grad-eclip", "gradcam", "medgrad"])
def test_the_attack_differentiates_the_maps_the_app_shows(attack_case, method):
    clip, imgs, ids = attack_case
    classes = {t.key: t for t in clip.catalogue.class_targets()}
    p = default_params(method)
    from medgrad_desktop.evaluation.attack import _medgrad_weights
    from medgrad_desktop.evaluation.suite import token_grid

    pix = torch.from_numpy(np.stack(imgs[:2])).permute(0, 3, 1, 2).float()
    text = torch.stack([clip.target_embeddings([classes[c]])[0] for c in ids[:2]])
    maps, _ = differentiable_maps(clip, pix, text, p, _medgrad_weights(pix, p, token_grid(clip)))
    for b in range(2):
        t = classes[ids[b]]
        ref = analyze_batch(clip, [imgs[b]], [t], [p])[0].get(method, t).raw.ravel()
        np.testing.assert_allclose(maps[b].detach().numpy(), ref, atol=1e-5 * max(1.0, np.abs(ref).max()))


@pytest.mark.slow
def test_attack_keeps_the_class_and_moves_the_map_more_than_random_noise(attack_case):
    clip, imgs, ids = attack_case
    classes = {t.key: t for t in clip.catalogue.class_targets()}
    p = GradECLIPParams()
    eps = 8
    res = attack_maps(clip, imgs, ids, p, eps, steps=5)
    rng = np.random.default_rng(0)
    noisy = [
        np.clip(im.astype(int) + rng.choice([-eps, eps], im.shape), 0, 255).astype(np.uint8) for im in imgs
    ]
    moved_attack, moved_noise = [], []
    for img, adv, rnd, cid in zip(imgs, res.images, noisy, ids, strict=True):
        t = classes[cid]
        assert np.abs(adv.astype(int) - img).max() <= eps
        r0, ra, rn = analyze_batch(clip, [img, adv, rnd], [t], [p])
        assert ra.prediction.predicted_id == cid  # the attack keeps the class
        m0 = r0.get("grad-eclip", t).normalized
        moved_attack.append(1 - top_intersection(m0, ra.get("grad-eclip", t).normalized))
        moved_noise.append(1 - top_intersection(m0, rn.get("grad-eclip", t).normalized))
    assert any(res.kept)
    assert np.mean(moved_attack) > np.mean(moved_noise)


@pytest.mark.slow
def test_robustness_command_writes_every_score_with_its_protocol(tmp_path):
    out = tmp_path / "rob"
    fast = ["--random-init", "--arch", "MedGrad-Tiny", "--device", "cpu", "--threads", "1"]
    args = ["--n", "2", "--seed", "5", "--robust-draws", "1", "--attack-steps", "1", "--attack-n", "1"]
    assert main(["eval-explanations", "--robustness", *fast, *args, "--out", str(out)]) == 0
    doc = json.loads((out / "robustness.json").read_text())
    assert doc["n"] == 2 and doc["seed"] == 5 and doc["protocol"]["attack"]["eps_255"] == [2.0, 4.0, 8.0]
    assert set(doc["protocol"]["perturbations"]) == {p.key for p in DEFAULT_PERTURBATIONS}
    scores = doc["scores"]
    assert {"gradcam", "grad-eclip", "medgrad", "entropy"} <= set(scores)
    keys = set().union(*(set(v) for v in scores.values()))
    assert {"uniform@5.max_sensitivity", "gaussian@5.ris", "jpeg@70.top10", "shift_rotate@4.spearman"} <= keys
    changed = doc["prediction_changed"]
    assert changed["uniform@5"]["copies"] == 2 and "attack@8:grad-eclip" in changed
    assert set(doc["vs_grad_eclip"]) == {"gradcam", "medgrad", "entropy"}
    md = (out / "robustness.md").read_text()
    assert "Artefact attraction" in md and "| uniform@5 | medgrad |" in md
    assert (out / "robustness-curves.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_stability_curves_follow_strength_per_method():
    scores = {
        "grad-eclip": {
            "uniform@8.max_sensitivity": {"median": 0.3},
            "uniform@2.max_sensitivity": {"median": 0.1},
        },
        "medgrad": {"uniform@2.max_sensitivity": {"median": 0.2}, "uniform@2.top10": {"median": 0.9}},
    }
    got = curves(scores)
    assert got == {"uniform": {"grad-eclip": [(2.0, 0.1), (8.0, 0.3)], "medgrad": [(2.0, 0.2)]}}


def _ratios(uniform, gaussian, hairs, ruler, bubbles) -> dict:
    def iv(lo_hi):
        return {"median_ratio": {"mean": sum(lo_hi) / 2, "lo": lo_hi[0], "hi": lo_hi[1], "n": 40}}

    keys = ["uniform@5.max_sensitivity", "gaussian@5.max_sensitivity"]
    keys += [f"artefact:{k}.attraction" for k in ARTEFACT_KINDS]
    return {
        "medgrad": {k: iv(v) for k, v in zip(keys, [uniform, gaussian, hairs, ruler, bubbles], strict=True)}
    }


def test_the_preregistered_rule_decides_as_written():
    ok = (0.9, 1.04)
    assert stability_answer(_ratios(ok, ok, ok, ok, ok))["answer"].startswith("no")
    assert stability_answer(_ratios((1.2, 2), (1.1, 1.5), ok, ok, ok))["answer"].startswith("yes")
    one_noise = stability_answer(_ratios((1.2, 2), (0.9, 1.3), ok, ok, ok))
    assert one_noise["noise"] == "undecided" and one_noise["answer"] == "undecided at this N"
    two_kinds = stability_answer(_ratios(ok, ok, (1.1, 1.4), (1.01, 1.2), ok))
    assert two_kinds["artefacts"] == "more attracted" and two_kinds["answer"].startswith("yes")
    assert stability_answer(_ratios(ok, ok, (1.1, 1.4), ok, ok))["artefacts"] == "undecided"
