"""The follow-up's "beyond the noise" rule: a change counts only above 2 x the visits' combined
test-retest spread and the stated floor; the re-photographed copies are mild and deterministic."""

from __future__ import annotations

import numpy as np
import pytest

from medgrad_desktop.core import retest
from medgrad_desktop.core.prediction import CriterionPrediction, Prediction


def _pred(probs: tuple[float, ...], veil: float = 0.1, score: int = 0) -> Prediction:
    veil_c = CriterionPrediction(
        "veil",
        "Blue-whitish veil",
        "present" if veil >= 0.5 else "absent",
        "",
        max(veil, 1 - veil),
        2 if veil >= 0.5 else 0,
        {"present": veil, "absent": 1 - veil},
    )
    return Prediction(("a", "b"), ("A", "B"), probs, (0.0, 0.0), (veil_c,), score, 3, "m")


def test_judge_uses_the_combined_spread_and_the_floor():
    # 2 x sqrt(3^2 + 4^2) = 10: 9.9 is noise, 10.1 a change
    assert not retest.judge(9.9, 3.0, 4.0, 5.0).beyond_noise
    assert retest.judge(-10.1, 3.0, 4.0, 5.0).beyond_noise
    # no spread at all: the floor decides
    assert retest.judge(4.9, 0.0, 0.0, 5.0).limit == 5.0
    assert not retest.judge(4.9, 0.0, 0.0, 5.0).beyond_noise
    v = retest.probability_verdict(0.50, 0.58, 0.01, 0.01)  # 8 pp against max(5, 2.8) pp
    assert v.change == pytest.approx(8.0) and v.limit == 5.0 and v.beyond_noise
    assert retest.verdict_text(v, "pp") == "change beyond the noise (limit \u00b15.0 pp)"
    assert retest.verdict_text(retest.judge(1.0, 0.0, 0.0, 5.0), "pp").startswith(retest.NO_CHANGE_TEXT)


def test_spread_and_verdicts_per_row():
    steady = [_pred((0.8, 0.2)), _pred((0.8, 0.2)), _pred((0.8, 0.2))]
    shaky = [_pred((0.8, 0.2)), _pred((0.5, 0.5)), _pred((0.2, 0.8))]
    s_steady, s_shaky = retest.spread(steady), retest.spread(shaky)
    assert s_steady["a"] == pytest.approx(0.0) and s_shaky["a"] == pytest.approx(0.3)
    assert set(s_shaky) == {"a", "b", "veil=present", "veil=absent", retest.SCORE_KEY}
    later = _pred((0.6, 0.4), veil=0.9, score=2)
    # the same 20 pp drop is a change against steady visits, noise against a shaky one
    assert retest.class_verdicts(steady[0], later, s_steady, s_steady)["a"].beyond_noise
    assert not retest.class_verdicts(steady[0], later, s_shaky, s_steady)["a"].beyond_noise
    veil = retest.criterion_verdicts(steady[0], later, s_steady, s_steady)["veil"]
    assert abs(veil.change) == pytest.approx(80.0) and veil.beyond_noise
    assert retest.score_verdict(steady[0], later, s_steady, s_steady).beyond_noise
    assert retest.any_change(steady[0], later, s_steady, s_steady)
    assert not retest.any_change(steady[0], steady[1], s_steady, s_steady)


def test_rephotograph_is_mild_and_deterministic():
    rng = np.random.default_rng(0)
    img = np.clip(rng.normal(128, 20, (64, 64, 3)), 0, 255).astype(np.uint8)
    a, b = retest.rephotograph(img, 3), retest.rephotograph(img, 3)
    assert np.array_equal(a, b) and a.shape == img.shape and a.dtype == np.uint8
    assert not np.array_equal(a, retest.rephotograph(img, 4))
    flat = np.full((64, 64, 3), 100, np.uint8)  # pose does not change a flat image: only the light
    shifted = retest.rephotograph(flat, 3).astype(int) - 100
    assert 0 < abs(shifted).max() <= round(retest.RETEST_RULE.max_brightness * 255)
    still = retest.RetestRule(max_rotation_deg=0.0, max_zoom=0.0, max_brightness=0.0)
    assert np.array_equal(retest.rephotograph(img, 3, still), img)


def test_the_rule_sets_factor_floor_and_judged_rows():
    steady = [_pred((0.8, 0.2)), _pred((0.8, 0.2))]
    s = retest.spread(steady)
    later = _pred((0.74, 0.26), veil=0.9, score=2)  # classes move 6 pp, the veil 80 pp, the score 2
    assert retest.class_verdicts(steady[0], later, s, s)["a"].beyond_noise  # 6 > floor 5
    floor8 = retest.RetestRule(min_pp=8.0)
    assert not retest.class_verdicts(steady[0], later, s, s, floor8)["a"].beyond_noise
    assert retest.any_change(steady[0], later, s, s, floor8)  # the veil still counts
    # classes + score: the criterion is not judged, the score is
    by_score = retest.RetestRule(min_pp=8.0, judged_rows="classes+score")
    assert retest.any_change(steady[0], later, s, s, by_score)
    same_score = _pred((0.74, 0.26), veil=0.9, score=0)
    assert not retest.any_change(steady[0], same_score, s, s, by_score)
    assert retest.any_change(steady[0], same_score, s, s, floor8)
    # the factor scales the combined spread: 2.5 x sqrt(3^2 + 4^2) = 12.5
    assert retest.judge(12.0, 3.0, 4.0, 5.0).beyond_noise
    assert not retest.judge(12.0, 3.0, 4.0, 5.0, 2.5).beyond_noise
    shaky = retest.spread([_pred((0.8, 0.2)), _pred((0.7, 0.3))])  # s = 7.07 pp
    wide = retest.RetestRule(spread_factor=2.5)
    assert retest.probability_verdict(0.5, 0.34, shaky["a"], 0.0).beyond_noise  # 16 > 14.1
    assert not retest.probability_verdict(0.5, 0.34, shaky["a"], 0.0, wide).beyond_noise  # 16 < 17.7
    with pytest.raises(ValueError, match="judged_rows"):
        retest.RetestRule(judged_rows="everything")


def test_describe_names_every_parameter():
    rule = retest.RetestRule(copies=8, artefacts=("hairs", "bubbles"), spread_factor=2.5, min_pp=8.0)
    text = rule.describe()
    for part in ("8 copies", "hairs or bubbles", "2.5 \u00d7", "8 pp", "a criterion"):
        assert part in text
    assert "the score" in retest.RetestRule(judged_rows="classes+score").describe()
