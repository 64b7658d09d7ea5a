"""Resampling for the study's intervals: readers and cases drawn with replacement, as weights.

Why weights: almost every study quantity is a ratio of sums over a reader x case grid (accuracy is
correct answers over answers, sensitivity is positive calls over malignant cases, ...). A resample that
draws reader i twice and case j not at all is the same as weighting row i by 2 and column j by 0, so
one resample of a ratio is `(w_r N w_c) / (w_r D w_c)`, and two thousand of them are two matrix
products.

Intervals:
- one reader, a share (accuracy, sensitivity, agreement with the AI): exact (Clopper-Pearson) over
  the reader's cases, which are independent trials: it holds at least 95 % by construction, which a
  bootstrap of a share of a few dozen cases does not promise;
- one reader, anything else (reliance, mean ratings): cases resampled, BCa (bias-corrected and
  accelerated, Efron 1987) with the jackknife over cases. A reader's few AI-wrong cases make the
  resamples of reliance skewed, which plain percentile intervals ignore and BCa corrects
  (benchmarks/study_recovery.py measures the coverage);
- one reader's median time: order statistics (`median_interval`);
- all readers: readers and cases resampled together (the two-way bootstrap of multi-reader
  multi-case studies), percentile interval. It counts the reader x case noise twice, so it errs wide.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.special import ndtr, ndtri
from scipy.stats import binomtest, quantile_test

ALPHA = 0.05  # two-sided 95 % intervals throughout


def _counts(rng: np.random.Generator, n_boot: int, n: int) -> np.ndarray:
    """How often each of `n` units is drawn in each of `n_boot` resamples (n_boot x n)."""
    draws = rng.integers(0, n, size=(n_boot, n))
    out = np.zeros((n_boot, n))
    np.add.at(out, (np.arange(n_boot)[:, None], draws), 1.0)
    return out


def _div(a, b):
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.divide(a, b)


@dataclass
class Resampler:
    """The resamples every interval of one analysis shares, so paired quantities (one arm against
    another, a reader's reliance from two arms) see the same readers and cases in each resample."""

    readers: np.ndarray  # n_boot x R weights
    cases: np.ndarray  # n_boot x C weights

    @classmethod
    def draw(cls, n_readers: int, n_cases: int, n_boot: int, seed: int) -> Resampler:
        rng = np.random.default_rng(seed)
        return cls(_counts(rng, n_boot, n_readers), _counts(rng, n_boot, n_cases))

    # --- ratios of sums ------------------------------------------------------------------------
    def pooled(self, num: np.ndarray, den: np.ndarray) -> tuple[float, np.ndarray]:
        """All readers (R x C grids): the point value and its two-way resamples."""
        point = float(_div(num.sum(), den.sum()))
        top = ((self.readers @ num) * self.cases).sum(axis=1)
        bottom = ((self.readers @ den) * self.cases).sum(axis=1)
        return point, _div(top, bottom)

    def one_reader(self, num: np.ndarray, den: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
        """One reader (length-C rows): the point value, its case resamples and its jackknife values
        (each case left out once)."""
        n, d = num.sum(), den.sum()
        return float(_div(n, d)), _div(self.cases @ num, self.cases @ den), _div(n - num, d - den)

    def pooled_median(self, values: np.ndarray) -> tuple[float, np.ndarray]:
        """The median of an R x C grid (NaN where nobody answered), with its two-way resamples."""
        point = float(np.nanmedian(values)) if np.isfinite(values).any() else float("nan")
        ridx, cidx = _indices(self.readers), _indices(self.cases)
        out = np.full(len(ridx), np.nan)
        for start in range(0, len(ridx), 250):  # a gather per block of resamples: no ratio of sums
            r, c = ridx[start : start + 250], cidx[start : start + 250]
            cells = values[r[:, :, None], c[:, None, :]].reshape(len(r), -1)
            some = np.isfinite(cells).any(axis=1)
            if some.any():
                out[start : start + 250][some] = np.nanmedian(cells[some], axis=1)
        return point, out


def _indices(weights: np.ndarray) -> np.ndarray:
    """Each resample's drawn unit indices back from its weights (n_boot x n)."""
    units = np.arange(weights.shape[1])
    return np.stack([np.repeat(units, row.astype(int)) for row in weights])


def percentile(boots: np.ndarray) -> tuple[float, float]:
    """The 2.5 and 97.5 percentiles of the resamples that are defined (NaN when none is)."""
    ok = boots[np.isfinite(boots)]
    if not len(ok):
        return float("nan"), float("nan")
    lo, hi = np.percentile(ok, [100 * ALPHA / 2, 100 * (1 - ALPHA / 2)])
    return float(lo), float(hi)


def bca(point: float, boots: np.ndarray, jack: np.ndarray) -> tuple[float, float]:
    """The BCa interval: percentiles of the resamples moved by the bias (how many resamples fall below
    the estimate) and the acceleration (the skew of the jackknife values)."""
    ok = boots[np.isfinite(boots)]
    if not np.isfinite(point) or not len(ok):
        return percentile(boots)
    below = (np.sum(ok < point) + 0.5 * np.sum(ok == point)) / len(ok)
    below = min(max(below, 1 / (len(ok) + 1)), len(ok) / (len(ok) + 1))
    z0 = ndtri(below)
    jack = jack[np.isfinite(jack)]
    d = jack.mean() - jack if len(jack) else np.zeros(1)
    spread = 6.0 * float((d**2).sum()) ** 1.5
    accel = float((d**3).sum()) / spread if spread > 0 else 0.0
    z = ndtri(np.array([ALPHA / 2, 1 - ALPHA / 2]))
    levels = ndtr(z0 + (z0 + z) / (1 - accel * (z0 + z)))
    lo, hi = np.percentile(ok, 100 * levels)
    return float(lo), float(hi)


def median_interval(values: np.ndarray) -> tuple[float, float]:
    """A distribution-free interval for a median from order statistics (scipy's `quantile_test`):
    it holds at least 95 % for any distribution of times, which a bootstrap of a median of a few dozen
    values does not promise. NaN when there are too few values for 95 % (fewer than 6)."""
    values = values[np.isfinite(values)]
    if len(values) < 6:
        return float("nan"), float("nan")
    ci = quantile_test(values, q=float(np.median(values)), p=0.5).confidence_interval(1 - ALPHA)
    lo, hi = float(ci.low), float(ci.high)
    return (lo if np.isfinite(lo) else float("nan")), (hi if np.isfinite(hi) else float("nan"))


def exact_share(k: int, n: int) -> tuple[float, float]:
    """Clopper-Pearson interval of k successes in n trials (NaN when n is 0)."""
    if n <= 0:
        return float("nan"), float("nan")
    ci = binomtest(int(k), int(n)).proportion_ci(confidence_level=1 - ALPHA, method="exact")
    return float(ci.low), float(ci.high)
