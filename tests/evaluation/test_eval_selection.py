"""The pre-registered choice of MedGrad's form, the phrase masks, the ETA line and patch units of
pixel-resolution maps: small pieces of the evaluation checked on hand-made inputs."""

from __future__ import annotations

import numpy as np

from medgrad_desktop.evaluation.eta import Eta
from medgrad_desktop.evaluation.perturbation import curve_spec, grad_eclip_protocol, unit_saliency
from medgrad_desktop.evaluation.samples import structure_phrases
from medgrad_desktop.evaluation.selection import FORM_CANDIDATES, select_form


def _summary(rows: dict[str, tuple[float, float, float, float, float]]) -> dict:
    """rows: name -> (target pointing, cf pointing, deletion, auroc, pointing minus entropy)."""
    scores, diffs = {}, {}
    for n, (tp, cp, de, au, gate) in rows.items():
        scores[n] = {
            k: {"mean": v, "lo": v, "hi": v, "n": 10}
            for k, v in (
                ("target.pointing", tp),
                ("counterfactual.pointing", cp),
                ("deletion.grad-eclip/patch", de),
                ("target.auroc", au),
            )
        }
        diffs[f"{n} - entropy"] = {
            "target.pointing": {"mean": gate, "lo": gate - 0.1, "hi": gate + 0.1, "n": 10}
        }
    return {"scores": scores, "differences": diffs}


def test_the_gate_removes_forms_that_do_not_beat_entropy_on_pointing():
    a, b, c = list(FORM_CANDIDATES)[:3]
    sel = select_form(
        _summary(
            {a: (0.9, 0.9, 0.1, 0.9, -0.01), b: (0.5, 0.5, 0.3, 0.6, 0.05), c: (0.4, 0.4, 0.4, 0.99, 0.02)}
        ),
        [a, b, c],
    )
    assert not sel["candidates"][a]["qualifies"]  # best everywhere, but not above entropy's pointing
    assert sel["winner"] == b and sel["ranking"] == [b, c]
    assert sel["winner_params"]["combine"] == FORM_CANDIDATES[b].combine


def test_rank_sum_decides_and_auroc_breaks_ties():
    a, b, c = list(FORM_CANDIDATES)[:3]
    # a: ranks 1, 3, 2 (sum 6); b: 2, 1, 3 (6); c: 3, 2, 1 (6): all tied, AUROC decides
    sel = select_form(
        _summary({a: (0.9, 0.1, 0.2, 0.6, 0.1), b: (0.8, 0.9, 0.3, 0.7, 0.1), c: (0.7, 0.5, 0.1, 0.65, 0.1)}),
        [a, b, c],
    )
    assert [sel["candidates"][n]["rank_sum"] for n in (a, b, c)] == [6.0, 6.0, 6.0]
    assert sel["ranking"] == [b, c, a]
    sel = select_form(_summary({a: (0.9, 0.9, 0.1, 0.5, 0.1), b: (0.8, 0.8, 0.2, 0.9, 0.1)}), [a, b])
    assert sel["winner"] == a  # lower deletion is better; AUROC only breaks ties


def test_no_qualifying_form_means_no_winner():
    a = next(iter(FORM_CANDIDATES))
    sel = select_form(_summary({a: (0.3, 0.3, 0.3, 0.9, -0.2)}), [a])
    assert sel["winner"] is None and sel["winner_params"] is None
    assert sel["default"] == "medgrad form=replace" and sel["default_params"]["combine"] == "replace"


def test_phrase_masks_follow_the_criteria_of_the_drawn_structures():
    m1 = np.zeros((8, 8), bool)
    m1[:2] = True
    m2 = np.zeros((8, 8), bool)
    m2[-2:] = True
    m3 = np.zeros((8, 8), bool)
    m3[:, :1] = True
    out = structure_phrases(
        "globules",
        {
            "streaks": m1,
            "globules": m2,
            "cobblestone_1": m3,
            "milia_cysts": m1,
            "typical_network": np.zeros((8, 8), bool),
        },
    )
    assert list(out) == ["dots_and_globules:regular", "streaks:regular"]  # the label's structure first
    assert np.array_equal(out["dots_and_globules:regular"], m2 | m3)  # both structures that set it
    assert "pigment_network:typical" not in out  # an empty mask shows nothing


def test_eta_uses_the_rate_of_each_kind_of_image():
    t = iter([0.0, 10.0, 20.0, 21.0])
    eta = Eta(4, 2, clock=lambda: next(t))
    assert eta.line(1, True).endswith("about 30 s left)")  # 1 curve image left at 10 s, 2 others at 10 s
    assert eta.line(2, True).endswith("about 20 s left)")
    assert eta.line(3, False) == "3/4 images (21 s, about 1 s left)"


def test_patch_units_of_a_pixel_map_are_patch_means():
    rng = np.random.default_rng(0)
    fine = rng.random((32, 32)).astype(np.float32)
    sal = unit_saliency(fine, 32, "patch", (4, 4))
    np.testing.assert_allclose(sal, fine.reshape(4, 8, 4, 8).mean(axis=(1, 3)), rtol=1e-5)
    spec = curve_spec(fine, 32, grad_eclip_protocol("patch", 4), "deletion", 0, patch_grid=(4, 4))
    assert spec.ranks.max() == 15 and spec.counts[-1] == 8  # 16 patches, half of them deleted
