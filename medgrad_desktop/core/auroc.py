"""The one AUROC of the project: maps as pixel classifiers of a mask (evaluation) and phrase cosines as
classifiers of a finding (training) both use it.

Rule: the area under the ROC curve is the Mann-Whitney statistic, the probability that a random
positive outranks a random negative, with ties counted one half (average ranks, scipy's `rankdata`).
When either group is empty the area is undefined and the result is NaN, as for every other undefined
score here: NaN drops out of `nanmean` and is easy to test for; callers that keep only defined values
test with `math.isnan`.
"""

from __future__ import annotations

import numpy as np
from scipy.stats import rankdata


def auroc(scores: np.ndarray, positive: np.ndarray) -> float:
    """AUROC of `scores` for the boolean labels `positive` (same shape); NaN when a group is empty."""
    positive = np.asarray(positive, dtype=bool).ravel()
    n_pos = int(positive.sum())
    n_neg = positive.size - n_pos
    if n_pos == 0 or n_neg == 0:
        return float("nan")
    ranks = rankdata(np.asarray(scores).ravel())
    return float((ranks[positive].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))
