"""What the study report says, as plain data: the study's identity, the tables of figures, the plots and
what could not be computed. The PDF and HTML writers render the same `StudyReportContent`, so they
cannot disagree about a figure.

Readers appear by their codes only. A figure is "value (low-high)" with its 95 % interval; an
undefined one is a dash in the tables, and the notes say why.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

from medgrad_desktop.reports.content import NOTICE
from medgrad_desktop.reports.study_figures import study_figures
from medgrad_desktop.study.analysis import ALL, LABELS, Estimate, StudyAnalysis
from medgrad_desktop.study.spec import StudySpec

DASH = "\u2014"


@dataclass(frozen=True)
class Table:
    title: str
    header: tuple[str, ...]
    rows: list[tuple[str, ...]]
    widths: tuple[float, ...]  # shares of the page's width (PDF), summing to 1
    note: str = ""


@dataclass(frozen=True)
class Figure:
    title: str
    path: Path  # PNG
    caption: str


@dataclass
class StudyReportContent:
    title: str
    created: str  # ISO 8601, UTC
    model_sha256: str
    info: list[tuple[str, str]]
    summary: Table  # the cover's table
    figures: list[Figure]
    tables: list[Table]
    undefined: list[str]
    notice: str = NOTICE
    warnings: list[str] = field(default_factory=list)  # the page header's warning box (none for a study)


def _range(low: float, high: float, fmt: str) -> str:
    """'65-78', or '-5 to +10' when a bound is negative (a dash would read as a minus)."""
    if low < 0 or high < 0:
        return f"{low:+{fmt}} to {high:+{fmt}}"
    return f"{low:{fmt}}\u2013{high:{fmt}}"


def pct(e: Estimate) -> str:
    """A share as a percentage with its interval: '72% (65-78)'."""
    if not e.defined:
        return DASH
    if not (math.isfinite(e.low) and math.isfinite(e.high)):
        return f"{e.value:.0%}"
    return f"{e.value:.0%} ({_range(100 * e.low, 100 * e.high, '.0f')})"


def num(e: Estimate, digits: int = 1, signed: bool = False) -> str:
    if not e.defined:
        return DASH
    v = e.value if round(e.value, digits) else 0.0  # never "-0.0"
    value = f"{v:{'+' if signed else ''}.{digits}f}"
    if not (math.isfinite(e.low) and math.isfinite(e.high)):
        return value
    if signed:
        return f"{value} ({e.low:+.{digits}f} to {e.high:+.{digits}f})"
    return f"{value} ({_range(e.low, e.high, f'.{digits}f')})"


def _shows(a: StudyAnalysis, arm: str) -> str:
    shows = next(x.shows for x in a.arms if x.id == arm)
    return {"nothing": "no AI", "prediction": "AI prediction", "map": "AI + map"}.get(shows, shows)


def _summary(a: StudyAnalysis) -> Table:
    rows = [
        (
            m.arm,
            _shows(a, m.arm),
            str(m.n_answers),
            pct(m.accuracy),
            pct(m.balanced_accuracy),
            pct(m.sensitivity),
            pct(m.specificity),
            num(m.confidence),
            num(m.median_seconds),
        )
        for m in a.by_arm
    ]
    return Table(
        "Arms, all readers (first readings)",
        (
            "Arm",
            "Shows",
            "n",
            "Accuracy",
            "Bal. acc.",
            "Sensitivity",
            "Specificity",
            "Confidence",
            "Median s",
        ),
        rows,
        (0.10, 0.12, 0.05, 0.12, 0.09, 0.13, 0.13, 0.12, 0.14),
        "Sensitivity and specificity: malignant against benign. Balanced accuracy: mean recall over the "
        "truth classes present (no interval).",
    )


def _agreement(a: StudyAnalysis) -> Table:
    inter = {f.arm: f for f in a.inter_reader}
    intra = {x.arm: x for x in a.intra_reader if x.reader == ALL and x.arm != ALL}
    rows = []
    for m in a.by_arm:
        f = inter[m.arm]
        fleiss = f"{f.fleiss_kappa:.2f} ({f.n_readers} readers)" if math.isfinite(f.fleiss_kappa) else DASH
        ir = intra.get(m.arm)
        rows.append(
            (
                m.arm,
                num(m.kappa_ai, 2),
                pct(m.agree_ai_wrong),
                pct(m.agree_ai_right),
                pct(m.reliance)
                if m.shows != "nothing"
                else "reference"
                if m.arm == a.reference_arm
                else DASH,
                fleiss,
                num(ir.kappa, 2) if ir else DASH,
            )
        )
    return Table(
        "Agreement with the AI and between readings, all readers",
        (
            "Arm",
            "Kappa with AI",
            "Agree, AI wrong",
            "Agree, AI right",
            "Reliance",
            "Fleiss' kappa",
            "Intra kappa",
        ),
        rows,
        (0.10, 0.16, 0.15, 0.15, 0.14, 0.15, 0.15),
        "Agree, AI wrong is over-reliance. Reliance: (agree, AI wrong - same in the arm without the AI) / "
        "(1 - same in the arm without the AI). Kappa intervals are statsmodels' asymptotic ones; Fleiss' "
        "kappa has none.",
    )


def _trust(a: StudyAnalysis) -> Table:
    rows = [
        (m.arm, num(m.trust), num(m.trust_ai_right), num(m.trust_ai_wrong), num(m.trust_gap, signed=True))
        for m in a.by_arm
        if m.shows != "nothing"
    ]
    return Table(
        "Trust in the AI (1-10), all readers",
        ("Arm", "Trust", "AI right", "AI wrong", "Right minus wrong"),
        rows,
        (0.16, 0.21, 0.21, 0.21, 0.21),
        "A calibrated trust is higher when the AI is right than when it is wrong.",
    )


def _differences(a: StudyAnalysis) -> Table:
    rows = [
        (
            LABELS[d.metric],
            d.arm,
            d.reference,
            num(d.estimate, 1, signed=True) if d.metric == "confidence" else _pct_diff(d.estimate),
        )
        for d in a.differences
    ]
    return Table(
        "Arms compared (arm minus reference, paired)",
        ("Quantity", "Arm", "Reference", "Difference (95 % interval)"),
        rows,
        (0.34, 0.16, 0.16, 0.34),
        "Intervals from a bootstrap that resamples readers and cases together; percentage points for shares.",
    )


def _pct_diff(e: Estimate) -> str:
    if not e.defined:
        return DASH
    v = 100 * e.value if round(100 * e.value, 1) else 0.0
    return f"{v:+.1f} pp ({100 * e.low:+.1f} to {100 * e.high:+.1f})"


def _per_reader(a: StudyAnalysis) -> Table:
    rows = [
        (
            m.reader,
            m.arm,
            str(m.n_answers),
            pct(m.accuracy),
            pct(m.reliance) if m.shows != "nothing" else DASH,
            num(m.median_seconds),
            num(m.kappa_ai, 2),
            pct(m.agree_ai_wrong),
            num(m.trust) if m.shows != "nothing" else DASH,
        )
        for m in sorted(a.by_reader, key=lambda m: (m.reader, [x.id for x in a.arms].index(m.arm)))
    ]
    return Table(
        "Per reader",
        (
            "Reader",
            "Arm",
            "n",
            "Accuracy",
            "Reliance",
            "Median s",
            "Kappa with AI",
            "AI wrong",
            "Trust",
        ),
        rows,
        (0.07, 0.09, 0.04, 0.13, 0.13, 0.15, 0.15, 0.12, 0.12),
        "AI wrong: agreement with the AI when it was wrong. Intervals over the reader's cases: exact "
        "binomial for shares, bootstrap (BCa) for reliance and trust, order statistics for the median time.",
    )


def _intra(a: StudyAnalysis) -> Table:
    rows = [
        (
            x.reader or "all",
            x.arm or "all",
            str(x.kappa.n),
            f"{x.agreement:.0%}",
            num(x.kappa, 2),
        )
        for x in a.intra_reader
        if x.arm == ALL or x.reader == ALL
    ]
    return Table(
        "Intra-reader agreement (cases read twice in a session)",
        ("Reader", "Arm", "Pairs", "Same answer", "Cohen's kappa"),
        rows,
        (0.16, 0.16, 0.16, 0.2, 0.32),
    )


def build_study_content(
    analysis: StudyAnalysis, spec: StudySpec, figure_dir: Path, *, model_sha256: str, created: str
) -> StudyReportContent:
    """The report's content; its plots are written into `figure_dir` (a staging folder)."""
    a = analysis
    arms = ", ".join(
        f"{arm.id} ({_shows(a, arm.id)}{', ' + arm.method if arm.method else ''})"
        for arm in spec.arms
        if any(x.id == arm.id for x in a.arms)
    )
    info = [
        ("Study", f"{spec.name} ({spec.id})"),
        ("Study file SHA-256", spec.sha256),
        ("Model SHA-256", model_sha256 or "not recorded"),
        ("Created (UTC)", created),
        ("Readers", ", ".join(a.readers) + f" ({len(a.readers)}; codes, not names)"),
        ("Arms", arms or ", ".join(x.id for x in a.arms)),
        (
            "Answers",
            f"{a.n_answers} first readings of {a.n_cases} cases, {a.n_repeats} repeats; "
            f"{'catalogue classes' if a.answers == 'catalogue' else 'coarse options'}",
        ),
        (
            "Intervals",
            f"95 %; bootstrap with {a.n_boot} resamples (seed {a.seed}); reliance against "
            f"{a.reference_arm or 'no arm (none without the AI)'}",
        ),
    ]
    figures = [Figure(t, p, c) for t, p, c in study_figures(a, figure_dir)]
    return StudyReportContent(
        title=f"Reader study: {spec.name}",
        created=created,
        model_sha256=model_sha256 or "not recorded",
        info=info,
        summary=_summary(a),
        figures=figures,
        tables=[_agreement(a), _trust(a), _differences(a), _per_reader(a), _intra(a)],
        undefined=list(a.undefined) or ["Every figure could be computed."],
    )
