"""How much a visit's prediction would move if the same lesion were simply photographed again, and
whether a change between two visits is larger than that.

Why: two photographs of an unchanged lesion never give the same probabilities (pose, zoom and light
differ, and hairs or gel bubbles come and go), so a follow-up table of raw differences reads noise as
change. Each visit's test-retest spread is estimated from K re-photographed copies of its own image
(`rephotograph`: a small rotation, zoom and brightness change, deterministic from the copy's seed; the
copies themselves, with the artefacts a rule may add, are made by `data.retake`), as the standard
deviation of each class probability, each criterion's finding probability and the 7-point score over
the image and its copies. A change between visits counts only when |change| > spread factor x
sqrt(s1^2 + s2^2) and at least the stated floor (percentage points for probabilities, points for the
score): the usual 95 % limit for the difference of two noisy measurements, with a floor so that a
model that happens to be very steady on both copies still needs a visible step. Every parameter of
that rule lives in one `RetestRule`, which the follow-up view states in its tooltip.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

from medgrad_desktop.core.prediction import CriterionPrediction, Prediction

SCORE_KEY = "7-point score"
NO_CHANGE_TEXT = "no change beyond the noise"
NOT_JUDGED_TEXT = "not judged (the 7-point score stands for the criteria)"
ROW_SETS = ("classes+criteria", "classes+score")  # which rows are judged and decide the table's verdict


@dataclass(frozen=True)
class RetestRule:
    """The test-retest rule: how each visit's copies are made and when a change counts.

    `artefacts`: where given, copy i also carries the generator's artefact `artefacts[i % len]`, as a
    re-taken photo brings new hairs or gel bubbles (`data.retake`); copy i is the same whatever `copies`
    is, so a rule with fewer copies uses a prefix of another's. `judged_rows`: class probabilities with
    each criterion, or class probabilities with the 7-point score (criteria then show their change
    without a verdict); a table shows a change when any judged row is beyond the noise."""

    copies: int = 4  # K: copies per visit, classified with the visit's image in one batched pass
    max_rotation_deg: float = 4.0  # a re-taken photo's pose: up to this rotation,
    max_zoom: float = 0.05  # this fraction of zoom in or out,
    max_brightness: float = 0.05  # and this fraction of full scale in brightness
    artefacts: tuple[str, ...] = ()
    artefact_side: int = 224  # artefacts drawn at this side (the generator's) and scaled to the photo
    artefact_seed: int = 7213
    spread_factor: float = 2.0
    min_pp: float = 5.0  # percentage points: a probability change smaller than this is never a change
    min_points: float = 1.0  # 7-point score: a change of at least one point, and beyond the noise
    judged_rows: str = "classes+criteria"

    def __post_init__(self) -> None:
        if self.judged_rows not in ROW_SETS:
            raise ValueError(f"judged_rows must be one of {', '.join(ROW_SETS)}, not '{self.judged_rows}'")
        if self.copies < 1:
            raise ValueError("a retest rule needs at least one copy")

    @property
    def judges_criteria(self) -> bool:
        return self.judged_rows == "classes+criteria"

    def describe(self) -> str:
        """The rule in words, for the view's tooltip."""
        extra = f", with {' or '.join(self.artefacts)} drawn in" if self.artefacts else ""
        rows = (
            "a class probability or a criterion"
            if self.judges_criteria
            else "a class probability or the score"
        )
        return (
            f"Each visit's image and {self.copies} copies of it re-photographed (rotation up to "
            f"{self.max_rotation_deg:g}\u00b0, zoom up to {self.max_zoom:.0%}, brightness up to "
            f"{self.max_brightness:.0%}{extra}) give each visit's spread s; a change counts only when it "
            f"exceeds {self.spread_factor:g} \u00d7 \u221a(s1\u00b2 + s2\u00b2) and at least "
            f"{self.min_pp:g} pp ({self.min_points:g} point for the 7-point score). Judged: {rows}."
        )


RETEST_RULE = RetestRule()


def rephotograph(rgb: np.ndarray, seed: int, rule: RetestRule = RETEST_RULE) -> np.ndarray:
    """The image as a second photograph of the same lesion might show it: rotated by up to the rule's
    rotation and zoomed by up to its zoom about the centre (borders reflected, as a re-framed photo
    continues the skin), brightness shifted by up to its brightness; the same for the same seed."""
    rng = np.random.default_rng(seed)
    h, w = rgb.shape[:2]
    angle = rng.uniform(-rule.max_rotation_deg, rule.max_rotation_deg)
    zoom = 1.0 + rng.uniform(-rule.max_zoom, rule.max_zoom)
    shift = rng.uniform(-rule.max_brightness, rule.max_brightness) * 255.0
    m = cv2.getRotationMatrix2D((w / 2.0, h / 2.0), angle, zoom)
    out = cv2.warpAffine(rgb, m, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT_101)
    return np.clip(np.rint(out.astype(np.float32) + shift), 0, 255).astype(np.uint8)


def _option_probabilities(c: CriterionPrediction) -> dict[str, float]:
    """Each option's probability; a prediction that kept only its chosen option gives that one."""
    return c.probabilities or {c.option_id: c.probability}


def _values(p: Prediction) -> dict[str, float]:
    """What the follow-up compares, by row key: each class probability (class id), each criterion's
    probability of every option ('criterion_id=option_id') and the 7-point score."""
    out = dict(zip(p.class_ids, p.probabilities, strict=True))
    for c in p.criteria:
        for option, q in _option_probabilities(c).items():
            out[criterion_key(c.criterion_id, option)] = q
    if p.criteria:
        out[SCORE_KEY] = float(p.seven_point_score)
    return out


def spread(predictions: list[Prediction]) -> dict[str, float]:
    """Standard deviation (ddof 1) of every compared value over one visit's image and its copies."""
    rows = [_values(p) for p in predictions]
    keys = set(rows[0]).intersection(*rows[1:]) if rows else set()
    return {k: float(np.std([r[k] for r in rows], ddof=1)) if len(rows) > 1 else 0.0 for k in keys}


def criterion_key(criterion_id: str, option_id: str) -> str:
    return f"{criterion_id}={option_id}"


@dataclass(frozen=True)
class Verdict:
    """One row's change judged against the two visits' spread: `limit` in the change's own unit."""

    change: float
    limit: float

    @property
    def beyond_noise(self) -> bool:
        return abs(self.change) > self.limit


def judge(
    change: float, s1: float, s2: float, minimum: float, factor: float = RETEST_RULE.spread_factor
) -> Verdict:
    """A change beyond the noise when |change| > max(minimum, factor x sqrt(s1^2 + s2^2))."""
    return Verdict(change, max(minimum, factor * math.hypot(s1, s2)))


def probability_verdict(
    p1: float, p2: float, s1: float, s2: float, rule: RetestRule = RETEST_RULE
) -> Verdict:
    """A probability's change in percentage points, judged with the rule's floor `min_pp`."""
    return judge(100.0 * (p2 - p1), 100.0 * s1, 100.0 * s2, rule.min_pp, rule.spread_factor)


def verdict_text(v: Verdict, unit: str) -> str:
    """The row's meaning in words, with the limit it was judged by ('pp' or 'points')."""
    if v.beyond_noise:
        return f"change beyond the noise (limit \u00b1{v.limit:.1f} {unit})"
    return f"{NO_CHANGE_TEXT} (limit \u00b1{v.limit:.1f} {unit})"


def class_verdicts(
    a: Prediction,
    b: Prediction,
    spread_a: dict[str, float],
    spread_b: dict[str, float],
    rule: RetestRule = RETEST_RULE,
) -> dict[str, Verdict]:
    """Each class present in both visits: its probability change judged against both spreads."""
    pb = dict(zip(b.class_ids, b.probabilities, strict=True))
    return {
        cid: probability_verdict(p, pb[cid], spread_a.get(cid, 0.0), spread_b.get(cid, 0.0), rule)
        for cid, p in zip(a.class_ids, a.probabilities, strict=True)
        if cid in pb
    }


def criterion_verdicts(
    a: Prediction,
    b: Prediction,
    spread_a: dict[str, float],
    spread_b: dict[str, float],
    rule: RetestRule = RETEST_RULE,
) -> dict[str, Verdict]:
    """Each criterion present in both visits: the change of the option probability that moved most
    beyond its own limit (for a present/absent criterion both options move alike)."""
    cb = {c.criterion_id: c for c in b.criteria}
    out = {}
    for c in a.criteria:
        d = cb.get(c.criterion_id)
        if d is None:
            continue
        qa, qb = _option_probabilities(c), _option_probabilities(d)
        verdicts = [
            probability_verdict(
                qa[o],
                qb[o],
                spread_a.get(criterion_key(c.criterion_id, o), 0.0),
                spread_b.get(criterion_key(c.criterion_id, o), 0.0),
                rule,
            )
            for o in qa
            if o in qb
        ]
        if verdicts:
            out[c.criterion_id] = max(verdicts, key=lambda v: abs(v.change) - v.limit)
    return out


def score_verdict(
    a: Prediction,
    b: Prediction,
    spread_a: dict[str, float],
    spread_b: dict[str, float],
    rule: RetestRule = RETEST_RULE,
) -> Verdict:
    """The 7-point score's change in points, judged with the rule's floor `min_points`."""
    return judge(
        float(b.seven_point_score - a.seven_point_score),
        spread_a.get(SCORE_KEY, 0.0),
        spread_b.get(SCORE_KEY, 0.0),
        rule.min_points - 1e-9,
        rule.spread_factor,
    )


def any_change(
    a: Prediction,
    b: Prediction,
    spread_a: dict[str, float],
    spread_b: dict[str, float],
    rule: RetestRule = RETEST_RULE,
) -> bool:
    """Whether the follow-up table would call any judged row (`RetestRule.judged_rows`) a change beyond
    the noise: what a reader takes from the table as a whole."""
    verdicts = [*class_verdicts(a, b, spread_a, spread_b, rule).values()]
    if rule.judges_criteria:
        verdicts += criterion_verdicts(a, b, spread_a, spread_b, rule).values()
    elif a.criteria and b.criteria:
        verdicts.append(score_verdict(a, b, spread_a, spread_b, rule))
    return any(v.beyond_noise for v in verdicts)
