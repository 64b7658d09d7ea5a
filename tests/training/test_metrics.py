"""Metric tests on hand-made cases whose right answer is known without any model."""

from __future__ import annotations

import numpy as np
import pytest

from medgrad_desktop.evaluation.baselines import baseline_maps, centre_map
from medgrad_desktop.evaluation.localization import (
    auroc,
    energy_pointing_game,
    iou_dice,
    localization_scores,
    pointing_game,
)
from medgrad_desktop.evaluation.perturbation import (
    curve_spec,
    grad_eclip_protocol,
    perturbation_curves,
    rank_units,
    rise_protocol,
    standard_protocols,
    tie_break_order,
)
from medgrad_desktop.evaluation.stats import bootstrap_mean, paired_bootstrap, spearman

S = 64  # image side; a 4x4 grid of 16 px patches


def _region_model(image: np.ndarray, region: np.ndarray):
    """A 'model' whose score is the share of the region's pixels left unchanged: it uses exactly them."""

    def score(batch: np.ndarray) -> np.ndarray:
        same = (batch == image[None]).all(axis=-1)
        return same[:, region].mean(axis=1)

    return score


def _setup():
    rng = np.random.default_rng(1)
    image = rng.integers(1, 255, (S, S, 3), dtype=np.uint8)  # no pure black: insertion base differs
    region = np.zeros((S, S), bool)
    region[16:32, 32:64] = True  # two patches of the 4x4 grid
    grid_true = np.zeros((4, 4), np.float32)
    grid_true[1, 2:4] = 1.0
    grid_true += 0.01 * rng.random((4, 4)).astype(np.float32)
    return image, region, grid_true


@pytest.mark.parametrize(
    "protocol",
    [
        grad_eclip_protocol("patch", 16),
        grad_eclip_protocol("pixel", 32),
        rise_protocol("patch", 16),
        rise_protocol("pixel", 32),
    ],
)
def test_perfect_inverted_random_order_of_aucs(protocol):
    image, region, perfect = _setup()
    rng = np.random.default_rng(5)
    randoms = {f"random{k}": rng.random((4, 4)).astype(np.float32) for k in range(20)}
    maps = {"perfect": perfect, "inverted": perfect.max() - perfect, **randoms}
    curves = perturbation_curves(image, maps, _region_model(image, region), 0, [protocol], seed=3)
    d = {n: curves[(n, protocol.key, "deletion")].auc for n in maps}
    i = {n: curves[(n, protocol.key, "insertion")].auc for n in maps}
    d["random"] = float(np.mean([d[n] for n in randoms]))  # the expectation over random maps
    i["random"] = float(np.mean([i[n] for n in randoms]))
    assert d["perfect"] < d["random"] < d["inverted"]
    assert i["perfect"] > i["random"] > i["inverted"]
    c = curves[("perfect", protocol.key, "deletion")]
    assert c.values[0] == pytest.approx(1.0) and c.fractions[-1] == pytest.approx(protocol.max_fraction)
    # insertion of the whole range from its base reveals the image (RISE ends at the image itself)
    if protocol.max_fraction == 1.0:
        assert curves[("random0", protocol.key, "insertion")].values[-1] == pytest.approx(1.0)


def test_deletion_of_perfect_map_reaches_zero_when_region_is_removed():
    image, region, perfect = _setup()
    p = grad_eclip_protocol("patch", 8)  # 8 steps over 50 % of 16 patches = one patch per step
    curves = perturbation_curves(image, {"perfect": perfect}, _region_model(image, region), 0, [p], seed=0)
    v = curves[("perfect", p.key, "deletion")].values
    assert v[1] == pytest.approx(0.5) and v[2] == pytest.approx(0.0)


def test_ties_follow_fixed_random_order_same_for_all_maps():
    zeros = np.zeros(16)
    perm = tie_break_order(16, seed=7)
    assert list(rank_units(zeros, perm)) == list(perm)
    assert list(rank_units(zeros, tie_break_order(16, 7))) == list(perm)
    assert list(rank_units(zeros, tie_break_order(16, 8))) != list(perm)
    v = np.zeros(16)
    v[3] = 1.0
    assert rank_units(v, perm)[0] == 3


def test_deletion_fills_are_as_stated():
    image, region, perfect = _setup()
    ge, ri = grad_eclip_protocol("patch", 4), rise_protocol("patch", 4)
    from medgrad_desktop.evaluation.perturbation import curve_images

    d_ge = curve_images(image, curve_spec(perfect, S, ge, "deletion", 0), 0)
    i_ge = curve_images(image, curve_spec(perfect, S, ge, "insertion", 0), 0)
    d_ri = curve_images(image, curve_spec(perfect, S, ri, "deletion", 0), 0)
    i_ri = curve_images(image, curve_spec(perfect, S, ri, "insertion", 0), 0)
    assert (d_ge[0] == image).all() and (i_ge[0] == 0).all()  # black insertion base
    assert (d_ri[-1] == 0).all()  # RISE deletes to black over the full range
    removed = d_ge[-1] != image
    assert removed.any() and d_ge[-1][removed].std() > 50  # uniform random RGB, not a constant
    assert not (i_ri[0] == 0).all() and (i_ri[-1] == image).all()  # blurred start, full image end
    assert len(standard_protocols(10)) == 4


def test_pointing_game_on_known_mask():
    mask = np.zeros((100, 100), bool)
    mask[40:60, 40:60] = True
    m = np.zeros((100, 100), np.float32)
    m[50, 50] = 1.0
    assert pointing_game(m, mask) == 1.0
    m = np.zeros((100, 100), np.float32)
    m[50, 72] = 1.0  # 13 px right of the mask: within the 15 px tolerance
    assert pointing_game(m, mask) == 1.0
    assert pointing_game(m, mask, tolerance_px=5) == 0.0
    m = np.zeros((100, 100), np.float32)
    m[5, 5] = 1.0
    assert pointing_game(m, mask) == 0.0
    # a constant map: every pixel is a maximum, the score is the dilated mask's area share
    flat = pointing_game(np.ones((100, 100)), mask, tolerance_px=0)
    assert flat == pytest.approx(mask.mean())


def test_energy_iou_auroc_on_known_mask():
    mask = np.zeros((40, 40), bool)
    mask[:, :10] = True  # a quarter of the image
    perfect = mask.astype(np.float32)
    e, lift = energy_pointing_game(perfect, mask)
    assert e == pytest.approx(1.0) and lift == pytest.approx(4.0)
    e, lift = energy_pointing_game(np.ones((40, 40)), mask)
    assert e == pytest.approx(0.25) and lift == pytest.approx(1.0)
    assert iou_dice(perfect, mask) == (pytest.approx(1.0), pytest.approx(1.0))
    assert iou_dice(1 - perfect, mask)[0] == 0.0
    assert auroc(perfect, mask) == pytest.approx(1.0)
    assert auroc(1 - perfect, mask) == pytest.approx(0.0)
    assert auroc(np.ones((40, 40)), mask) == pytest.approx(0.5)
    s = localization_scores(np.random.default_rng(0).random((40, 40)), mask)
    assert 0.3 < s["auroc"] < 0.7 and s["area_share"] == pytest.approx(0.25)
    assert np.isnan(pointing_game(perfect, np.zeros((40, 40), bool)))


def test_grid_maps_are_upsampled_to_the_mask():
    mask = np.zeros((224, 224), bool)
    mask[:112, :112] = True
    grid = np.zeros((14, 14), np.float32)
    grid[:7, :7] = 1.0
    assert pointing_game(grid, mask) == 1.0
    assert auroc(grid, mask) > 0.95


def test_bootstrap_intervals():
    rng = np.random.default_rng(0)
    a = rng.normal(1.0, 1.0, 200)
    b = a - 0.5 + rng.normal(0, 0.1, 200)  # b is worse than a by 0.5, tightly paired
    d = paired_bootstrap(a, b, seed=1)
    assert d.lo < 0.5 < d.hi and d.excludes_zero and d.hi - d.lo < 0.1
    same = paired_bootstrap(a, a + rng.normal(0, 0.1, 200), seed=1)
    assert not same.excludes_zero
    m = bootstrap_mean([1.0, float("nan"), 3.0])
    assert m.n == 2 and m.mean == 2.0
    assert bootstrap_mean([]).fmt() == "n/a"


def test_spearman():
    x = np.arange(20.0)
    assert spearman(x, x**3) == pytest.approx(1.0)
    assert spearman(x, -x) == pytest.approx(-1.0)
    assert np.isnan(spearman(x, np.ones(20)))


def test_baselines_shapes_and_centre():
    rgb = np.random.default_rng(0).integers(0, 256, (224, 224, 3), dtype=np.uint8)
    mask = np.zeros((224, 224), bool)
    mask[50:100, 50:100] = True
    maps = baseline_maps(rgb, (14, 14), seed=0, lesion_mask=mask)
    assert set(maps) == {"random", "centre", "sobel", "entropy", "lesion"}
    assert all(m.shape == (14, 14) for m in maps.values())
    c = centre_map((14, 14))
    assert np.unravel_index(np.argmax(c), c.shape) in [(6, 6), (6, 7), (7, 6), (7, 7)]
    assert maps["lesion"][4, 4] == pytest.approx(1.0) and maps["lesion"][12, 12] == 0.0
    assert "lesion" not in baseline_maps(rgb, (14, 14), seed=0)
