"""Chance-corrected agreement: Cohen's kappa of two label lists (a reader against the AI, a reader's
first reading against the repeat) and Fleiss' kappa of several readers, both from statsmodels.

A kappa is undefined (NaN, never an exception) when chance alone explains all agreement: every label
in one category makes the expected agreement 1, and kappa divides by 1 minus it.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from statsmodels.stats.inter_rater import aggregate_raters, cohens_kappa, fleiss_kappa

NAN = float("nan")


@dataclass(frozen=True)
class Kappa:
    kappa: float
    low: float  # 95 % interval from kappa's asymptotic standard error (statsmodels), within [-1, 1]
    high: float
    n: int  # pairs of labels


def _finite(x) -> float:
    x = float(x)
    return x if np.isfinite(x) else NAN


def cohen(first: Sequence[str], second: Sequence[str]) -> Kappa:
    """Cohen's kappa of two equally long label lists; categories are the labels either list uses."""
    if len(first) != len(second):
        raise ValueError("Cohen's kappa needs two label lists of one length")
    if not first:
        return Kappa(NAN, NAN, NAN, 0)
    cats = sorted(set(first) | set(second))
    code = {c: i for i, c in enumerate(cats)}
    table = np.zeros((len(cats), len(cats)))
    for a, b in zip(first, second, strict=True):
        table[code[a], code[b]] += 1
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore", RuntimeWarning)
        res = cohens_kappa(table)
    kappa = _finite(res.kappa)
    if not np.isfinite(kappa):
        return Kappa(NAN, NAN, NAN, len(first))
    # the asymptotic interval can leave kappa's range on few pairs; kappa cannot
    low, high = max(-1.0, _finite(res.kappa_low)), min(1.0, _finite(res.kappa_upp))
    return Kappa(kappa, low, high, len(first))


def fleiss(labels: Sequence[Sequence[str]]) -> float:
    """Fleiss' kappa of cases (rows) each labelled by the same number of readers (columns)."""
    if len(labels) < 1 or min(len(row) for row in labels) < 2:
        return NAN
    cats = sorted({x for row in labels for x in row})
    code = {c: i for i, c in enumerate(cats)}
    table, _ = aggregate_raters(np.array([[code[x] for x in row] for row in labels]))
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore", RuntimeWarning)
        return _finite(fleiss_kappa(table, method="fleiss"))
