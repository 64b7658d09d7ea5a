"""The analysis of a reader study: per arm and per reader, how often readers were right, how much they
followed the AI, and how they felt about it; agreement within and between readers; arms against each
other.

Rules:
- Arm metrics use each reader's first reading of a case only; the repeated readings serve the
  intra-reader kappa alone (a repeat is not new evidence about accuracy).
- Every interval is 95 % (`study.bootstrap`): a reader's share of answers (accuracy, sensitivity,
  agreement with the AI) is exact binomial over the reader's cases, the median time's comes from
  order statistics, the reader's other figures from a bootstrap over cases (BCa); the all-readers ones
  and the arm differences
  resample readers and cases together (two-way), the same resamples for every arm so differences
  are paired. Kappa intervals are statsmodels' asymptotic ones.
- A quantity that cannot be computed (no case the AI got wrong, no malignant case, one reader only)
  is NaN, never an exception, and `StudyAnalysis.undefined` says which and why.
- Reliance is the chance-corrected switch toward a wrong AI: with a = P(agree with the AI | AI wrong),
  (a in an arm that shows the AI - a in the arm without it) / (1 - a in the arm without it); 0 means the
  AI's wrong answers did not pull readers at all, 1 that readers always took them.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Callable
from dataclasses import asdict, dataclass, field

import numpy as np

from medgrad_desktop.study.agreement import cohen, fleiss
from medgrad_desktop.study.bootstrap import Resampler, bca, exact_share, median_interval, percentile
from medgrad_desktop.study.records import Response, Scoring

NAN = float("nan")
SHOWS_ORDER = {"nothing": 0, "prediction": 1, "map": 2}
ALL = ""  # the reader (or arm) field of a figure over all readers (or arms)

LABELS = {
    "answers": "Every figure",
    "accuracy": "Accuracy",
    "balanced_accuracy": "Balanced accuracy",
    "sensitivity": "Sensitivity (malignant)",
    "specificity": "Specificity (benign)",
    "confidence": "Mean confidence (1-10)",
    "trust": "Mean trust in the AI (1-10)",
    "median_seconds": "Median seconds per case",
    "kappa_ai": "Cohen's kappa with the AI",
    "agree_ai_wrong": "Agreement with the AI when it is wrong (over-reliance)",
    "agree_ai_right": "Agreement with the AI when it is right",
    "reliance": "Reliance (chance-corrected switch toward a wrong AI)",
    "trust_ai_right": "Trust when the AI is right",
    "trust_ai_wrong": "Trust when the AI is wrong",
    "trust_gap": "Trust, AI right minus AI wrong",
}
# only in arms that show the AI: elsewhere these are not undefined but not asked
AI_ONLY = {"trust", "reliance", "trust_ai_right", "trust_ai_wrong", "trust_gap"}
REASONS = {
    "accuracy": "no answers",
    "balanced_accuracy": "no answers",
    "sensitivity": "no malignant case",
    "specificity": "no benign case",
    "confidence": "confidence was not asked",
    "trust": "trust was not asked",
    "median_seconds": "no times recorded",
    "kappa_ai": "answers and AI in one category only (chance explains all agreement)",
    "agree_ai_wrong": "no case the AI got wrong",
    "agree_ai_right": "no case the AI got right",
    "trust_ai_right": "no trust rating on a case the AI got right",
    "trust_ai_wrong": "no trust rating on a case the AI got wrong",
    "trust_gap": "trust is missing when the AI was right or when it was wrong",
}
DIFFERENCE_METRICS = ("accuracy", "sensitivity", "specificity", "confidence")
# shares of answers (a reader's interval is exact); the other ratios are means of ratings
SHARES = {"accuracy", "sensitivity", "specificity", "agree_ai_wrong", "agree_ai_right"}


@dataclass(frozen=True)
class Estimate:
    value: float
    low: float = NAN
    high: float = NAN
    n: int = 0  # the observations behind the value (answers, ratings, pairs)

    @property
    def defined(self) -> bool:
        return math.isfinite(self.value)


@dataclass
class ArmMetrics:
    """One arm, over all readers (`reader` is "") or for one reader."""

    arm: str
    shows: str
    reader: str
    n_answers: int
    accuracy: Estimate
    balanced_accuracy: Estimate  # mean recall over the truth classes present (no interval)
    sensitivity: Estimate
    specificity: Estimate
    confidence: Estimate
    trust: Estimate
    median_seconds: Estimate
    kappa_ai: Estimate
    agree_ai_wrong: Estimate
    agree_ai_right: Estimate
    reliance: Estimate
    trust_ai_right: Estimate
    trust_ai_wrong: Estimate
    trust_gap: Estimate
    undefined: dict[str, str] = field(default_factory=dict)  # metric -> why it is NaN


@dataclass(frozen=True)
class Difference:
    """`metric` in `arm` minus in `reference`, over all readers (paired two-way bootstrap)."""

    metric: str
    arm: str
    reference: str
    estimate: Estimate


@dataclass(frozen=True)
class IntraReader:
    """First reading against the repeat of the same case in the same session."""

    reader: str  # "" all readers
    arm: str  # "" all arms
    agreement: float  # share of repeats answered as the first time
    kappa: Estimate


@dataclass(frozen=True)
class InterReader:
    arm: str
    fleiss_kappa: float
    n_readers: int
    n_cases: int  # cases every one of the arm's readers answered


@dataclass(frozen=True)
class ArmInfo:
    id: str
    shows: str


@dataclass
class StudyAnalysis:
    readers: list[str]
    arms: list[ArmInfo]
    n_cases: int
    n_answers: int  # first readings
    n_repeats: int
    answers: str  # "catalogue" or "coarse"
    reference_arm: str  # the arm without the AI that reliance is measured against ("" if none)
    n_boot: int
    seed: int
    by_arm: list[ArmMetrics]
    by_reader: list[ArmMetrics]
    differences: list[Difference]
    intra_reader: list[IntraReader]
    inter_reader: list[InterReader]
    undefined: list[str]  # what could not be computed and why, for people

    def arm(self, arm: str, reader: str = ALL) -> ArmMetrics:
        rows = self.by_arm if reader == ALL else self.by_reader
        return next(m for m in rows if m.arm == arm and m.reader == reader)

    def to_dict(self) -> dict:
        """JSON-able: NaN becomes null."""
        return _json_safe(asdict(self))


def _json_safe(x):
    if isinstance(x, float):
        return x if math.isfinite(x) else None
    if isinstance(x, dict):
        return {k: _json_safe(v) for k, v in x.items()}
    if isinstance(x, list | tuple):
        return [_json_safe(v) for v in x]
    if isinstance(x, np.generic):
        return _json_safe(x.item())
    return x


# --- the reader x case grid --------------------------------------------------------------------------
@dataclass
class _Grid:
    """First readings as reader x case arrays per arm (absent cells: False / NaN)."""

    readers: list[str]
    cases: list[str]
    arms: list[ArmInfo]
    truth_group: list[str]  # per case: the class (catalogue answers) or the call (coarse answers)
    truth_pos: np.ndarray  # C
    ai_right: np.ndarray  # C
    present: list[np.ndarray]  # per arm, R x C
    correct: list[np.ndarray]
    positive: list[np.ndarray]  # the answer calls the lesion malignant
    agree: list[np.ndarray]  # the answer agrees with the AI
    confidence: list[np.ndarray]
    trust: list[np.ndarray]
    seconds: list[np.ndarray]
    label: list[np.ndarray]  # the answer as compared with the AI (class or call); object
    answer: list[np.ndarray]  # the answer as given; object
    ai_label: list[str]  # per case


def _call(positive: bool) -> str:
    return "malignant" if positive else "benign"


def _grid(first: list[Response], scoring: Scoring) -> _Grid:
    readers = sorted({r.reader for r in first})
    cases = sorted({r.case_id for r in first})
    shows = {r.arm: r.shows for r in first}
    arms = [ArmInfo(a, shows[a]) for a in sorted(shows, key=lambda a: (SHOWS_ORDER.get(shows[a], 9), a))]
    ri, ci, ai = ({x: i for i, x in enumerate(v)} for v in (readers, cases, [a.id for a in arms]))
    shape = (len(readers), len(cases))
    case_of = {r.case_id: r for r in first}
    truth = [case_of[c].truth for c in cases]
    ai_class = [case_of[c].ai_class for c in cases]
    coarse = bool(scoring.coarse)

    def grids(fill, dtype):
        return [np.full(shape, fill, dtype=dtype) for _ in arms]

    g = _Grid(
        readers=readers,
        cases=cases,
        arms=arms,
        truth_group=[_call(scoring.truth_positive(t)) if coarse else t for t in truth],
        truth_pos=np.array([scoring.truth_positive(t) for t in truth], dtype=bool),
        ai_right=np.array([scoring.ai_correct(a, t) for a, t in zip(ai_class, truth, strict=True)]),
        present=grids(False, bool),
        correct=grids(False, bool),
        positive=grids(False, bool),
        agree=grids(False, bool),
        confidence=grids(np.nan, float),
        trust=grids(np.nan, float),
        seconds=grids(np.nan, float),
        label=grids(None, object),
        answer=grids(None, object),
        ai_label=[_call(scoring.truth_positive(a)) if coarse else a for a in ai_class],
    )
    for r in first:
        a, i, j = ai[r.arm], ri[r.reader], ci[r.case_id]
        g.present[a][i, j] = True
        g.correct[a][i, j] = scoring.is_correct(r.answer, r.truth)
        g.positive[a][i, j] = scoring.answer_positive(r.answer)
        g.agree[a][i, j] = scoring.agrees_with_ai(r.answer, r.ai_class)
        g.confidence[a][i, j] = np.nan if r.confidence is None else r.confidence
        g.trust[a][i, j] = np.nan if r.trust is None else r.trust
        g.seconds[a][i, j] = r.seconds
        g.label[a][i, j] = _call(scoring.answer_positive(r.answer)) if coarse else r.answer
        g.answer[a][i, j] = r.answer
    return g


def _ratios(g: _Grid, a: int) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Each ratio metric of arm `a` as (numerator, denominator) R x C grids."""
    p = g.present[a]
    pos, wrong = g.truth_pos[None, :], ~g.ai_right[None, :]
    conf, trust = g.confidence[a], g.trust[a]
    rated = np.isfinite(trust)
    f = np.float64
    return {
        "accuracy": ((g.correct[a] & p).astype(f), p.astype(f)),
        "sensitivity": ((g.positive[a] & p & pos).astype(f), (p & pos).astype(f)),
        "specificity": ((~g.positive[a] & p & ~pos).astype(f), (p & ~pos).astype(f)),
        "confidence": (np.nan_to_num(conf), np.isfinite(conf).astype(f)),
        "trust": (np.nan_to_num(trust), rated.astype(f)),
        "agree_ai_wrong": ((g.agree[a] & p & wrong).astype(f), (p & wrong).astype(f)),
        "agree_ai_right": ((g.agree[a] & p & ~wrong).astype(f), (p & ~wrong).astype(f)),
        "trust_ai_right": (np.nan_to_num(trust) * ~wrong, (rated & ~wrong).astype(f)),
        "trust_ai_wrong": (np.nan_to_num(trust) * wrong, (rated & wrong).astype(f)),
    }


# --- point, resamples and jackknife together ----------------------------------------------------------
@dataclass
class _Draws:
    point: float
    boots: np.ndarray
    jack: np.ndarray | None  # one reader: BCa; None: all readers, percentile
    n: int
    successes: int | None = None  # one reader's share: k of n, for the exact interval

    def estimate(self) -> Estimate:
        if not math.isfinite(self.point):
            return Estimate(NAN, n=self.n)
        if self.successes is not None:
            lo, hi = exact_share(self.successes, self.n)
        elif self.jack is None:
            lo, hi = percentile(self.boots)
        else:
            lo, hi = bca(self.point, self.boots, self.jack)
        return Estimate(self.point, lo, hi, self.n)

    def combine(self, other: _Draws, fn: Callable) -> _Draws:
        with np.errstate(divide="ignore", invalid="ignore"):
            jack = None if self.jack is None else fn(self.jack, other.jack)
            point = float(fn(np.float64(self.point), np.float64(other.point)))  # 0/0: NaN, not an error
            return _Draws(point, fn(self.boots, other.boots), jack, self.n)


def _draws(
    res: Resampler, num: np.ndarray, den: np.ndarray, reader: int | None, share: bool = False
) -> _Draws:
    if reader is None:
        point, boots = res.pooled(num, den)
        return _Draws(point, boots, None, int(den.sum()))
    point, boots, jack = res.one_reader(num[reader], den[reader])
    k = int(num[reader].sum()) if share else None
    return _Draws(point, boots, jack, int(den[reader].sum()), k)


def _reliance(p_arm, p_ref):
    return (p_arm - p_ref) / (1 - p_ref)


def _balanced_accuracy(g: _Grid, a: int, rows: slice | int) -> Estimate:
    groups = np.array(g.truth_group)
    p, c = g.present[a][rows], g.correct[a][rows]
    recalls = []
    for grp in sorted(set(g.truth_group)):
        cols = groups == grp
        n = p[..., cols].sum()
        if n:
            recalls.append(c[..., cols].sum() / n)
    return Estimate(float(np.mean(recalls)) if recalls else NAN, n=int(p.sum()))


def _arm_metrics(g: _Grid, a: int, reader: int | None, res: Resampler, ref: int | None) -> ArmMetrics:
    arm = g.arms[a]
    rows: slice | int = slice(None) if reader is None else reader
    draws = {k: _draws(res, num, den, reader, k in SHARES) for k, (num, den) in _ratios(g, a).items()}
    est = {k: d.estimate() for k, d in draws.items()}
    est["trust_gap"] = draws["trust_ai_right"].combine(draws["trust_ai_wrong"], np.subtract).estimate()
    undefined: dict[str, str] = {}
    if ref is not None and arm.shows != "nothing":
        num, den = _ratios(g, ref)["agree_ai_wrong"]
        base = _draws(res, num, den, reader)
        est["reliance"] = draws["agree_ai_wrong"].combine(base, _reliance).estimate()
        if not est["reliance"].defined and est["agree_ai_wrong"].defined:
            undefined["reliance"] = (
                "no case the AI got wrong was answered in the arm without the AI"
                if not base.n
                else "without the AI every answer on its wrong cases already matched it"
            )
    else:
        est["reliance"] = Estimate(NAN)
        if arm.shows != "nothing":
            undefined["reliance"] = "no arm without the AI to compare with"
    seconds = g.seconds[a][rows]
    if reader is None:
        point, boots = res.pooled_median(seconds)
        est["median_seconds"] = _Draws(point, boots, None, int(np.isfinite(seconds).sum())).estimate()
    else:
        lo, hi = median_interval(seconds)
        ok = seconds[np.isfinite(seconds)]
        est["median_seconds"] = Estimate(float(np.median(ok)) if len(ok) else NAN, lo, hi, len(ok))
    present = g.present[a][rows]
    labels = list(g.label[a][rows][present])
    ai = np.broadcast_to(np.array(g.ai_label, dtype=object), g.present[a].shape)[rows][present]
    k = cohen(labels, list(ai))
    est["kappa_ai"] = Estimate(k.kappa, k.low, k.high, k.n)
    est["balanced_accuracy"] = _balanced_accuracy(g, a, rows)
    if not present.any():  # one reason for all: the reader has not read this arm (yet)
        undefined = {"answers": "no answers in this arm yet"}
    for name, e in est.items():
        if (
            "answers" in undefined
            or e.defined
            or name in undefined
            or (name in AI_ONLY and arm.shows == "nothing")
        ):
            continue
        if name == "reliance" and not est["agree_ai_wrong"].defined:
            undefined[name] = REASONS["agree_ai_wrong"]
        else:
            undefined[name] = REASONS[name]
    return ArmMetrics(
        arm=arm.id,
        shows=arm.shows,
        reader=ALL if reader is None else g.readers[reader],
        n_answers=int(present.sum()),
        undefined=undefined,
        **est,
    )


def _differences(g: _Grid, res: Resampler) -> list[Difference]:
    out = []
    ratios = [_ratios(g, a) for a in range(len(g.arms))]
    for metric in DIFFERENCE_METRICS:
        draws = [_draws(res, *r[metric], None) for r in ratios]
        for j in range(1, len(g.arms)):
            for i in range(j):
                d = draws[j].combine(draws[i], np.subtract)
                d.n = min(draws[i].n, draws[j].n)
                out.append(Difference(metric, g.arms[j].id, g.arms[i].id, d.estimate()))
    return out


def _intra_reader(responses: list[Response], first: list[Response]) -> list[IntraReader]:
    firsts = {(r.reader, r.case_id, r.session): r for r in first}
    pairs = [
        (r.reader, r.arm, firsts[key].answer, r.answer)
        for r in responses
        if r.repeat and (key := (r.reader, r.case_id, r.session)) in firsts
    ]
    groups: dict[tuple[str, str], list[tuple[str, str]]] = defaultdict(list)
    for reader, arm, a, b in pairs:
        for key in ((ALL, ALL), (reader, ALL), (ALL, arm)):
            groups[key].append((a, b))
    out = []
    for (reader, arm), ab in sorted(groups.items()):
        k = cohen([a for a, _ in ab], [b for _, b in ab])
        agreement = sum(a == b for a, b in ab) / len(ab)
        out.append(IntraReader(reader, arm, agreement, Estimate(k.kappa, k.low, k.high, k.n)))
    return out


def _inter_reader(g: _Grid) -> list[InterReader]:
    out = []
    for a, arm in enumerate(g.arms):
        who = g.present[a].any(axis=1)
        cols = g.present[a][who].all(axis=0)
        answers = g.answer[a][who][:, cols].T.tolist()
        kappa = fleiss(answers) if who.sum() >= 2 and cols.any() else NAN
        out.append(InterReader(arm.id, kappa, int(who.sum()), int(cols.sum())))
    return out


def _notes(rows: list[ArmMetrics], intra: list[IntraReader], inter: list[InterReader]) -> list[str]:
    """What is undefined, grouped by quantity and reason, naming where."""
    where: dict[tuple[str, str], list[str]] = defaultdict(list)
    for m in rows:
        for metric, reason in m.undefined.items():
            where[(metric, reason)].append(
                f"{m.arm} (all readers)" if m.reader == ALL else f"{m.reader}/{m.arm}"
            )
    notes = []
    for (metric, reason), places in where.items():
        shown = ", ".join(places[:6]) + (f" and {len(places) - 6} more" if len(places) > 6 else "")
        notes.append(f"{LABELS[metric]}: undefined, {reason} ({shown}).")
    if not intra:
        notes.append("Intra-reader kappa: undefined, no case was read twice.")
    elif not intra[0].kappa.defined:
        notes.append("Intra-reader kappa (all readers): undefined, repeats in one category only.")
    for f in inter:
        if not math.isfinite(f.fleiss_kappa):
            why = (
                "fewer than two readers"
                if f.n_readers < 2
                else "no case every reader answered, or one category only"
            )
            notes.append(f"Fleiss' kappa in {f.arm}: undefined, {why}.")
    return notes


def analyze(
    responses: list[Response], scoring: Scoring, *, n_boot: int = 2000, seed: int = 0
) -> StudyAnalysis:
    """Every figure of the study report from the answers (`Response`s, any order). A study without a
    single answer is a ValueError (there is nothing to report); anything less is analysed."""
    ordered = sorted(responses, key=lambda r: (r.reader, r.session, r.position))
    first: list[Response] = []
    seen: set[tuple[str, str, str]] = set()
    for r in ordered:
        key = (r.reader, r.case_id, r.arm)
        if not r.repeat and key not in seen:
            seen.add(key)
            first.append(r)
    if not first:
        raise ValueError("the study has no answers yet: nothing to analyse")
    g = _grid(first, scoring)
    res = Resampler.draw(len(g.readers), len(g.cases), n_boot, seed)
    ref = next((a for a, arm in enumerate(g.arms) if arm.shows == "nothing"), None)
    by_arm = [_arm_metrics(g, a, None, res, ref) for a in range(len(g.arms))]
    by_reader = [_arm_metrics(g, a, i, res, ref) for i in range(len(g.readers)) for a in range(len(g.arms))]
    intra = _intra_reader(ordered, first)
    inter = _inter_reader(g)
    return StudyAnalysis(
        readers=g.readers,
        arms=g.arms,
        n_cases=len(g.cases),
        n_answers=len(first),
        n_repeats=sum(r.repeat for r in responses),
        answers="coarse" if scoring.coarse else "catalogue",
        reference_arm="" if ref is None else g.arms[ref].id,
        n_boot=n_boot,
        seed=seed,
        by_arm=by_arm,
        by_reader=by_reader,
        differences=_differences(g, res),
        intra_reader=intra,
        inter_reader=inter,
        undefined=_notes(by_arm + by_reader, intra, inter),
    )
