"""Simulated readers and a simulated AI of known accuracy, reliance and speed, so the analysis can be
checked against the truth (benchmarks/study_recovery.py, tests/study/test_recovery.py).

The model of a reader, the one the analysis's definitions are built for:
- without the AI the reader is right with probability `accuracy`, else names one of the other classes
  at random (uniformly);
- in an arm that shows the AI the reader takes the AI's answer with probability `reliance[shows]`, else
  answers as without it; so the chance-corrected reliance of `study.analysis` is exactly `reliance`;
- the active time on a case is lognormal with median `median_seconds * time_factor[shows]`;
- confidence, trust and "the map helped" are plausible ratings (higher when right or when following
  the AI), not estimands.
The AI is right on each case with probability `ai_accuracy`, else names another class at random.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from medgrad_desktop.core.prompts import load_catalogue
from medgrad_desktop.study.plan import make_plan
from medgrad_desktop.study.records import Response
from medgrad_desktop.study.spec import DEFAULT_MALIGNANT, Arm, Cases, Design, Questions, Reader, StudySpec


class PlannedReading(Protocol):
    """What the simulation needs of a plan's row (`study.plan.Assignment` has it)."""

    reader: str
    session: int
    position: int
    case_id: str
    arm: str
    repeat: bool


@dataclass(frozen=True)
class SimReader:
    code: str
    accuracy: float  # without the AI
    reliance: Mapping[str, float]  # shows ("prediction", "map") -> probability of taking the AI's answer
    median_seconds: float
    seconds_sigma: float = 0.5  # of log seconds
    time_factor: Mapping[str, float] = field(
        default_factory=lambda: {"nothing": 1.0, "prediction": 0.9, "map": 1.15}
    )

    def true_accuracy(self, shows: str, ai_accuracy: float) -> float:
        """The probability of a right answer in an arm, over cases: taking the AI is right as often as
        the AI is."""
        r = self.reliance.get(shows, 0.0) if shows != "nothing" else 0.0
        return r * ai_accuracy + (1 - r) * self.accuracy

    def true_median(self, shows: str) -> float:
        return self.median_seconds * self.time_factor[shows]


@dataclass(frozen=True)
class SimCases:
    truth: dict[str, str]  # case id -> class
    ai_class: dict[str, str]


def _other(rng: np.random.Generator, classes: Sequence[str], not_this: str) -> str:
    others = [c for c in classes if c != not_this]
    return others[int(rng.integers(len(others)))]


def simulate_cases(
    case_ids: Iterable[str],
    classes: Sequence[str],
    malignant: Iterable[str],
    ai_accuracy: float,
    rng: np.random.Generator,
    malignant_share: float = 0.3,
) -> SimCases:
    """Truth drawn with `malignant_share` of malignant cases (uniform within malignant and within
    benign classes); the AI right with probability `ai_accuracy`."""
    mal = [c for c in classes if c in set(malignant)]
    ben = [c for c in classes if c not in set(malignant)]
    truth, ai = {}, {}
    for case in case_ids:
        pool = mal if mal and (not ben or rng.random() < malignant_share) else ben
        t = pool[int(rng.integers(len(pool)))]
        truth[case] = t
        ai[case] = t if rng.random() < ai_accuracy else _other(rng, classes, t)
    return SimCases(truth, ai)


def _rating(rng: np.random.Generator, centre: float, top: int) -> int:
    return int(min(top, max(1, round(rng.normal(centre, 1.3)))))


def simulate_responses(
    plan: Iterable[PlannedReading],
    arms: Mapping[str, str],
    readers: Mapping[str, SimReader],
    cases: SimCases,
    classes: Sequence[str],
    rng: np.random.Generator,
) -> list[Response]:
    """Each planned reading answered by its simulated reader; `arms` maps arm id -> what it shows."""
    out = []
    for p in plan:
        sim, shows = readers[p.reader], arms[p.arm]
        truth, ai = cases.truth[p.case_id], cases.ai_class[p.case_id]
        follows = shows != "nothing" and rng.random() < sim.reliance.get(shows, 0.0)
        if follows:
            answer = ai
        elif rng.random() < sim.accuracy:
            answer = truth
        else:
            answer = _other(rng, classes, truth)
        with_ai = shows != "nothing"
        agrees = answer == ai
        out.append(
            Response(
                reader=p.reader,
                case_id=p.case_id,
                arm=p.arm,
                shows=shows,
                session=p.session,
                position=p.position,
                repeat=p.repeat,
                truth=truth,
                answer=answer,
                ai_class=ai,
                confidence=_rating(rng, 7.0 if answer == truth else 5.0, 10),
                trust=_rating(rng, 7.5 if agrees else 4.0, 10) if with_ai else None,
                map_helped=_rating(rng, 3.5 if agrees else 2.5, 5) if shows == "map" else None,
                seconds=float(math.exp(rng.normal(math.log(sim.true_median(shows)), sim.seconds_sigma))),
            )
        )
    return out


def simulate_study(
    readers: Sequence[SimReader],
    arms: Sequence[Arm],
    n_cases: int,
    ai_accuracy: float,
    seed: int,
    *,
    repeat_share: float = 0.1,
    malignant: Sequence[str] = DEFAULT_MALIGNANT,
) -> tuple[StudySpec, list[Response]]:
    """A whole simulated study: a spec (cases C-001...), its plan from `make_plan`, the cases with the
    AI's answers, and every planned reading answered. The same seed gives the same study."""
    classes = load_catalogue().class_ids
    spec = StudySpec(
        id="simulated",
        name="Simulated reader study",
        seed=seed,
        readers=tuple(Reader(r.code) for r in readers),
        cases=Cases(folder="(simulated)", truth="(simulated)"),
        arms=tuple(arms),
        design=Design(washout_days=0.0, repeat_share=repeat_share),
        questions=Questions(malignant=tuple(malignant)),
    )
    case_ids = [f"C-{i:03d}" for i in range(1, n_cases + 1)]
    rng = np.random.default_rng(seed)
    cases = simulate_cases(case_ids, classes, malignant, ai_accuracy, rng)
    responses = simulate_responses(
        make_plan(spec, case_ids),
        {a.id: a.shows for a in arms},
        {r.code: r for r in readers},
        cases,
        classes,
        rng,
    )
    return spec, responses
