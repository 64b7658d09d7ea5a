"""Paired bootstrap intervals and rank correlation.

Every method and baseline is scored on the same images, so differences are paired: the bootstrap
resamples images (not scores) and recomputes the mean difference; a 95 % interval that excludes 0
says the difference is not an accident of which images were drawn.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
from scipy.stats import rankdata

N_BOOT = 2000


@dataclass(frozen=True)
class Interval:
    mean: float
    lo: float
    hi: float
    n: int

    def to_dict(self) -> dict:
        return asdict(self)

    def fmt(self, digits: int = 3) -> str:
        if self.n == 0 or not np.isfinite(self.mean):
            return "n/a"
        return f"{self.mean:.{digits}f} [{self.lo:.{digits}f}, {self.hi:.{digits}f}]"

    @property
    def excludes_zero(self) -> bool:
        return self.n > 0 and (self.lo > 0 or self.hi < 0)


def _boot_means(x: np.ndarray, n_boot: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, len(x), (n_boot, len(x)))
    return x[idx].mean(axis=1)


def bootstrap_mean(x, n_boot: int = N_BOOT, seed: int = 0, level: float = 0.95) -> Interval:
    """Percentile bootstrap interval of the mean of `x`; NaNs (undefined cases) are dropped."""
    x = np.asarray(x, dtype=np.float64)
    x = x[np.isfinite(x)]
    if len(x) == 0:
        return Interval(float("nan"), float("nan"), float("nan"), 0)
    b = _boot_means(x, n_boot, seed)
    a = (1 - level) / 2
    return Interval(float(x.mean()), float(np.quantile(b, a)), float(np.quantile(b, 1 - a)), len(x))


def paired_bootstrap(a, b, n_boot: int = N_BOOT, seed: int = 0, level: float = 0.95) -> Interval:
    """Interval of mean(a - b) over the images where both are defined."""
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    if a.shape != b.shape:
        raise ValueError("paired scores must have the same length")
    ok = np.isfinite(a) & np.isfinite(b)
    return bootstrap_mean(a[ok] - b[ok], n_boot, seed, level)


def spearman(a: np.ndarray, b: np.ndarray) -> float:
    """Spearman rank correlation of two maps (ties averaged); NaN if either map is constant."""
    ra = rankdata(np.asarray(a, dtype=np.float64).ravel())
    rb = rankdata(np.asarray(b, dtype=np.float64).ravel())
    if ra.std() == 0 or rb.std() == 0:
        return float("nan")
    return float(np.corrcoef(ra, rb)[0, 1])
