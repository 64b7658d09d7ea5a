"""How much a visit's prediction would move if the same lesion were simply photographed again, and
whether a change between two visits is larger than that.

Why: two photographs of an unchanged lesion never give the same probabilities (pose, zoom and light
differ), so a follow-up table of raw differences reads noise as change. Each visit's test-retest
spread is estimated from K re-photographed copies of its own image (`rephotograph`: a small
rotation, zoom and brightness change, deterministic from the copy's seed), as the standard deviation
of each class probability, each criterion's finding probability and the 7-point score over the image
and its copies. A change between visits counts only when |change| > `SPREAD_FACTOR` x
sqrt(s1^2 + s2^2) and at least the stated minimum (`MIN_PP` percentage points for probabilities,
`MIN_POINTS` for the score): the usual 95 % limit for the difference of two noisy measurements, with
a floor so that a model that happens to be very steady on both copies still needs a visible step.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

from medgrad_desktop.core.prediction import Prediction

RETEST_COPIES = 4  # K: copies per visit, classified with the visit's image in one batched pass
MAX_ROTATION_DEG = 4.0  # a re-taken photo's pose: up to this rotation,
MAX_ZOOM = 0.05  # this fraction of zoom in or out,
MAX_BRIGHTNESS = 0.05  # and this fraction of full scale in brightness
SPREAD_FACTOR = 2.0
MIN_PP = 5.0  # percentage points: a probability change smaller than this is never called a change
MIN_POINTS = 1.0  # 7-point score: a change of at least one point, and beyond the noise
SCORE_KEY = "7-point score"
NO_CHANGE_TEXT = "no change beyond the noise"


def rephotograph(rgb: np.ndarray, seed: int) -> np.ndarray:
    """The image as a second photograph of the same lesion might show it: rotated by up to
    `MAX_ROTATION_DEG` and zoomed by up to `MAX_ZOOM` about the centre (borders reflected, as a
    re-framed photo continues the skin), brightness shifted by up to `MAX_BRIGHTNESS`; the same for
    the same seed."""
    rng = np.random.default_rng(seed)
    h, w = rgb.shape[:2]
    angle = rng.uniform(-MAX_ROTATION_DEG, MAX_ROTATION_DEG)
    zoom = 1.0 + rng.uniform(-MAX_ZOOM, MAX_ZOOM)
    shift = rng.uniform(-MAX_BRIGHTNESS, MAX_BRIGHTNESS) * 255.0
    m = cv2.getRotationMatrix2D((w / 2.0, h / 2.0), angle, zoom)
    out = cv2.warpAffine(rgb, m, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT_101)
    return np.clip(np.rint(out.astype(np.float32) + shift), 0, 255).astype(np.uint8)


def retest_copies(rgb: np.ndarray, k: int = RETEST_COPIES) -> list[np.ndarray]:
    """K re-photographed copies of one visit's image (seeds 0..K-1: the same copies every time)."""
    return [rephotograph(rgb, seed) for seed in range(k)]


def _values(p: Prediction) -> dict[str, float]:
    """What the follow-up compares, by row key: each class probability (class id), each criterion's
    probability of every option ('criterion_id=option_id') and the 7-point score."""
    out = dict(zip(p.class_ids, p.probabilities, strict=True))
    for c in p.criteria:
        for option, q in (c.probabilities or {c.option_id: c.probability}).items():
            out[f"{c.criterion_id}={option}"] = q
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


def judge(change: float, s1: float, s2: float, minimum: float) -> Verdict:
    """A change beyond the noise when |change| > max(minimum, SPREAD_FACTOR x sqrt(s1^2 + s2^2))."""
    return Verdict(change, max(minimum, SPREAD_FACTOR * math.hypot(s1, s2)))


def probability_verdict(p1: float, p2: float, s1: float, s2: float) -> Verdict:
    """A probability's change in percentage points, judged with the `MIN_PP` floor."""
    return judge(100.0 * (p2 - p1), 100.0 * s1, 100.0 * s2, MIN_PP)


def verdict_text(v: Verdict, unit: str) -> str:
    """The row's meaning in words, with the limit it was judged by ('pp' or 'points')."""
    if v.beyond_noise:
        return f"change beyond the noise (limit \u00b1{v.limit:.1f} {unit})"
    return f"{NO_CHANGE_TEXT} (limit \u00b1{v.limit:.1f} {unit})"


def class_verdicts(
    a: Prediction, b: Prediction, spread_a: dict[str, float], spread_b: dict[str, float]
) -> dict[str, Verdict]:
    """Each class present in both visits: its probability change judged against both spreads."""
    pb = dict(zip(b.class_ids, b.probabilities, strict=True))
    return {
        cid: probability_verdict(p, pb[cid], spread_a.get(cid, 0.0), spread_b.get(cid, 0.0))
        for cid, p in zip(a.class_ids, a.probabilities, strict=True)
        if cid in pb
    }


def criterion_verdicts(
    a: Prediction, b: Prediction, spread_a: dict[str, float], spread_b: dict[str, float]
) -> dict[str, Verdict]:
    """Each criterion present in both visits: the change of the option probability that moved most
    beyond its own limit (for a present/absent criterion both options move alike)."""
    cb = {c.criterion_id: c for c in b.criteria}
    out = {}
    for c in a.criteria:
        d = cb.get(c.criterion_id)
        if d is None:
            continue
        qa = c.probabilities or {c.option_id: c.probability}
        qb = d.probabilities or {d.option_id: d.probability}
        verdicts = [
            probability_verdict(
                qa[o],
                qb[o],
                spread_a.get(criterion_key(c.criterion_id, o), 0.0),
                spread_b.get(criterion_key(c.criterion_id, o), 0.0),
            )
            for o in qa
            if o in qb
        ]
        if verdicts:
            out[c.criterion_id] = max(verdicts, key=lambda v: abs(v.change) - v.limit)
    return out


def score_verdict(
    a: Prediction, b: Prediction, spread_a: dict[str, float], spread_b: dict[str, float]
) -> Verdict:
    """The 7-point score's change in points, judged with the `MIN_POINTS` floor."""
    return judge(
        float(b.seven_point_score - a.seven_point_score),
        spread_a.get(SCORE_KEY, 0.0),
        spread_b.get(SCORE_KEY, 0.0),
        MIN_POINTS - 1e-9,
    )


def any_change(a: Prediction, b: Prediction, spread_a: dict[str, float], spread_b: dict[str, float]) -> bool:
    """Whether the follow-up table would call any row (a class probability or a criterion) a change
    beyond the noise: what a reader takes from the table as a whole."""
    verdicts = [*class_verdicts(a, b, spread_a, spread_b).values()]
    verdicts += criterion_verdicts(a, b, spread_a, spread_b).values()
    return any(v.beyond_noise for v in verdicts)
