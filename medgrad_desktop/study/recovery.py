"""Does `analyze` recover what simulated readers were built with? Many simulated studies, each
analysed; for every reader and arm, does the 95 % interval of accuracy, reliance and median time
cover the true value (`study.simulate`), and how far is the point estimate from it.

An interval that could not be computed counts as a miss: coverage is measured, not flattered.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass

import numpy as np

from medgrad_desktop.study.analysis import analyze
from medgrad_desktop.study.simulate import SimReader, simulate_study
from medgrad_desktop.study.spec import Arm, Questions

ARMS = (Arm("no-ai", "nothing"), Arm("ai", "prediction"), Arm("ai-map", "map", "medgrad"))
# (name, metric, which arms): the rows of the recovery table
QUANTITIES = (
    ("accuracy without the AI", "accuracy", ("nothing",)),
    ("accuracy with the AI", "accuracy", ("prediction", "map")),
    ("reliance on the AI", "reliance", ("prediction", "map")),
    ("median seconds per case", "median_seconds", ("nothing", "prediction", "map")),
)


@dataclass(frozen=True)
class Design:
    readers: int = 4
    cases: int = 80
    ai_accuracy: tuple[float, float] = (0.6, 0.75)  # drawn per study
    accuracy: tuple[float, float] = (0.55, 0.85)  # drawn per reader
    reliance: tuple[float, float] = (0.2, 0.8)  # drawn per reader and arm that shows the AI
    median_seconds: tuple[float, float] = (10.0, 60.0)
    repeat_share: float = 0.1


@dataclass(frozen=True)
class Row:
    quantity: str
    intervals: int
    covered: int
    # width, |estimate - truth| and estimate - truth: relative to the truth for times
    mean_width: float
    mean_abs_error: float
    bias: float

    @property
    def coverage(self) -> float:
        return self.covered / self.intervals if self.intervals else math.nan


def _readers(rng: np.random.Generator, d: Design) -> list[SimReader]:
    return [
        SimReader(
            code=f"R{i + 1:02d}",
            accuracy=float(rng.uniform(*d.accuracy)),
            reliance={s: float(rng.uniform(*d.reliance)) for s in ("prediction", "map")},
            median_seconds=float(rng.uniform(*d.median_seconds)),
        )
        for i in range(d.readers)
    ]


def _truth(reader: SimReader, metric: str, shows: str, ai_accuracy: float) -> float:
    if metric == "accuracy":
        return reader.true_accuracy(shows, ai_accuracy)
    if metric == "reliance":
        return reader.reliance[shows]
    return reader.true_median(shows)


def run_recovery(
    n_studies: int, *, design: Design = Design(), n_boot: int = 2000, seed: int = 0
) -> list[Row]:
    """The recovery table over `n_studies` simulated studies (study i uses seed `seed + i`)."""
    hits: dict[str, list[tuple[bool, float, float]]] = defaultdict(list)  # covered, width, error
    scoring = Questions().scoring()
    for i in range(n_studies):
        rng = np.random.default_rng(seed + i)
        readers = _readers(rng, design)
        ai_accuracy = float(rng.uniform(*design.ai_accuracy))
        _, responses = simulate_study(
            readers, ARMS, design.cases, ai_accuracy, seed + i, repeat_share=design.repeat_share
        )
        result = analyze(responses, scoring, n_boot=n_boot, seed=seed + i)
        for name, metric, shows_in in QUANTITIES:
            for arm in (a for a in ARMS if a.shows in shows_in):
                for r in readers:
                    est = getattr(result.arm(arm.id, r.code), metric)
                    truth = _truth(r, metric, arm.shows, ai_accuracy)
                    covered = est.low <= truth <= est.high  # False for NaN
                    scale = truth if metric == "median_seconds" else 1.0  # times: relative
                    hits[name].append((covered, (est.high - est.low) / scale, (est.value - truth) / scale))
    rows = []
    for name, _, _ in QUANTITIES:
        h = np.array(hits[name], dtype=float)
        rows.append(
            Row(
                quantity=name,
                intervals=len(h),
                covered=int(h[:, 0].sum()),
                mean_width=float(np.nanmean(h[:, 1])),
                mean_abs_error=float(np.nanmean(np.abs(h[:, 2]))),
                bias=float(np.nanmean(h[:, 2])),
            )
        )
    return rows
