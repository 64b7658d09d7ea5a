"""The study report's plots, as PNG files (matplotlib, Agg): every PDF and HTML writer embeds the same
pictures, so the formats cannot show different figures.

Each plot draws one figure per reader with its 95 % interval (dots with whiskers, one colour per
reader, in the same order in every plot) and the all-readers figure beside them (black diamond), so a
reader who differs from the others is seen at once. An undefined figure is left out of the plot, and
the report's notes say why.
"""

from __future__ import annotations

import math
from pathlib import Path

from medgrad_desktop.plotting import pyplot, save_figure
from medgrad_desktop.study.analysis import ALL, Estimate, StudyAnalysis

DPI = 160
SIZE = (7.2, 3.4)  # inches: a full-width figure of the A4 page, two to a page
SHOWN = {"nothing": "no AI", "prediction": "AI", "map": "AI + map"}


def _whisker(ax, x: float, e: Estimate, *, color, marker="o", size=5.0, label=None) -> None:
    if not e.defined:
        return
    lo = e.value - e.low if math.isfinite(e.low) else 0.0
    hi = e.high - e.value if math.isfinite(e.high) else 0.0
    ax.errorbar(
        x,
        e.value,
        yerr=[[max(lo, 0.0)], [max(hi, 0.0)]],
        fmt=marker,
        color=color,
        ms=size,
        capsize=2.5,
        lw=1.1,
        label=label,
    )


def _per_reader(a: StudyAnalysis, metric: str, arms: list[str], ax, *, percent: bool) -> None:
    """Readers' figures dodged around each arm's position, the all-readers figure at the right."""
    colours = pyplot().get_cmap("tab10")
    n = len(a.readers)
    width = 0.7
    for i, reader in enumerate(a.readers):
        for x, arm in enumerate(arms):
            dx = -width / 2 + width * (i + 0.5) / (n + 1)
            _whisker(
                ax,
                x + dx,
                getattr(a.arm(arm, reader), metric),
                color=colours(i % 10),
                label=reader if x == 0 else None,
            )
    for x, arm in enumerate(arms):
        _whisker(
            ax,
            x + width / 2 - width * 0.5 / (n + 1),
            getattr(a.arm(arm, ALL), metric),
            color="black",
            marker="D",
            size=6,
            label="all readers" if x == 0 else None,
        )
    ax.set_xticks(range(len(arms)), [_arm_label(a, arm) for arm in arms])
    ax.set_xlim(-0.6, len(arms) - 0.4)
    if percent:
        ax.yaxis.set_major_formatter(lambda v, _: f"{v:.0%}")
    ax.grid(axis="y", alpha=0.3)


def _arm_label(a: StudyAnalysis, arm: str) -> str:
    shows = next(x.shows for x in a.arms if x.id == arm)
    return f"{arm}\n({SHOWN.get(shows, shows)})"


def ai_never_wrong(a: StudyAnalysis) -> bool:
    """No case read was one the AI got wrong (agreement with a wrong AI is undefined in every arm), so
    over-reliance, reliance and trust in a wrong AI have nothing to be measured on."""
    return not any(m.agree_ai_wrong.defined for m in a.by_arm)


NEVER_WRONG = "the AI was right on every case read:\nnothing to measure when it is wrong"


def _say(ax, text: str, y: float = 0.5) -> None:
    ax.text(0.5, y, text, transform=ax.transAxes, ha="center", va="center", fontsize=8, color="#555")


def _legend(ax) -> None:
    if ax.get_legend_handles_labels()[0]:  # nothing defined, nothing to name
        ax.legend(fontsize=7, loc="center left", bbox_to_anchor=(1.01, 0.5), frameon=False)


def accuracy_plot(a: StudyAnalysis, path: Path) -> Path:
    plt = pyplot()
    fig, ax = plt.subplots(figsize=SIZE)
    _per_reader(a, "accuracy", [x.id for x in a.arms], ax, percent=True)
    ax.set_ylabel("accuracy")
    ax.set_ylim(0, 1.02)
    _legend(ax)
    return save_figure(fig, path, dpi=DPI)


def seconds_plot(a: StudyAnalysis, path: Path) -> Path:
    plt = pyplot()
    fig, ax = plt.subplots(figsize=SIZE)
    _per_reader(a, "median_seconds", [x.id for x in a.arms], ax, percent=False)
    ax.set_ylabel("median seconds per case")
    ax.set_ylim(bottom=0)
    _legend(ax)
    return save_figure(fig, path, dpi=DPI)


def reliance_plot(a: StudyAnalysis, path: Path) -> Path:
    """Left: agreement with the AI when it is right and when it is wrong, per arm (all readers; the
    no-AI arm is the baseline of chance agreement). Right: each reader's reliance in the AI arms."""
    plt = pyplot()
    fig, (left, right) = plt.subplots(1, 2, figsize=SIZE, gridspec_kw={"width_ratios": [1.1, 1]})
    arms = [x.id for x in a.arms]
    for k, (metric, colour, name) in enumerate(
        (("agree_ai_right", "#4a7db3", "AI right"), ("agree_ai_wrong", "#c0392b", "AI wrong"))
    ):
        for x, arm in enumerate(arms):
            e = getattr(a.arm(arm), metric)
            if e.defined:
                left.bar(
                    x + (k - 0.5) * 0.38,
                    e.value,
                    0.36,
                    color=colour,
                    alpha=0.85,
                    label=name if x == 0 else None,
                )
                _whisker(left, x + (k - 0.5) * 0.38, e, color="black", marker="none")
    never_wrong = ai_never_wrong(a)
    if never_wrong:  # said in the legend, where no bar can hide it
        left.bar(0, 0, 0, color="#c0392b", label="AI wrong: no such case")
    left.set_xticks(range(len(arms)), [_arm_label(a, arm) for arm in arms])
    left.set_ylim(0, 1.05)
    left.yaxis.set_major_formatter(lambda v, _: f"{v:.0%}")
    left.set_ylabel("answers agreeing with the AI")
    if left.get_legend_handles_labels()[0]:
        left.legend(fontsize=7, frameon=False, loc="lower center", bbox_to_anchor=(0.5, 1.0), ncol=2)
    left.grid(axis="y", alpha=0.3)
    ai_arms = [x.id for x in a.arms if x.shows != "nothing"]
    defined = any(a.arm(arm, r).reliance.defined for arm in ai_arms for r in [ALL, *a.readers])
    if ai_arms and a.reference_arm and defined:
        _per_reader(a, "reliance", ai_arms, right, percent=True)
        right.axhline(0, color="grey", lw=0.8)
        right.set_ylabel(f"reliance (vs {a.reference_arm})")
        _legend(right)
    else:  # an empty frame would read as a plot that failed to draw
        right.axis("off")
        why = (
            "no arm without the AI"
            if not (ai_arms and a.reference_arm)
            else NEVER_WRONG
            if never_wrong
            else "see Not computed"
        )
        _say(right, f"reliance undefined:\n{why}")
    return save_figure(fig, path, dpi=DPI)


def trust_plot(a: StudyAnalysis, path: Path) -> Path:
    """Trust when the AI was right against when it was wrong, per arm that shows the AI."""
    plt = pyplot()
    fig, ax = plt.subplots(figsize=SIZE)
    ai_arms = [x.id for x in a.arms if x.shows != "nothing"]
    colours = pyplot().get_cmap("tab10")
    for x, arm in enumerate(ai_arms):
        for k, (metric, colour, name) in enumerate(
            (("trust_ai_right", "#4a7db3", "AI right"), ("trust_ai_wrong", "#c0392b", "AI wrong"))
        ):
            e = getattr(a.arm(arm), metric)
            pos = x + (k - 0.5) * 0.4
            if e.defined:
                ax.bar(pos, e.value, 0.38, color=colour, alpha=0.8, label=name if x == 0 else None)
                _whisker(ax, pos, e, color="black", marker="none")
            for i, reader in enumerate(a.readers):
                r = getattr(a.arm(arm, reader), metric)
                if r.defined:
                    ax.plot(
                        pos - 0.12 + 0.24 * (i + 0.5) / len(a.readers),
                        r.value,
                        "o",
                        ms=3.5,
                        color=colours(i % 10),
                    )
    if ai_arms and ai_never_wrong(a):
        ax.bar(0, 0, 0, color="#c0392b", label="AI wrong:\nno such case")
    ax.set_xticks(range(len(ai_arms)), [_arm_label(a, arm) for arm in ai_arms])
    ax.set_xlim(-0.7, max(len(ai_arms), 1) - 0.3)
    ax.set_ylim(0, 10.5)
    ax.set_ylabel("trust in the AI (1-10)")
    _legend(ax)
    ax.grid(axis="y", alpha=0.3)
    if not ai_arms:
        ax.text(0.5, 0.5, "no arm shows the AI", transform=ax.transAxes, ha="center")
    return save_figure(fig, path, dpi=DPI)


def study_figures(a: StudyAnalysis, folder: Path) -> list[tuple[str, Path, str]]:
    """(title, PNG, caption) of every plot, written into `folder`."""
    return [
        (
            "Accuracy per arm",
            accuracy_plot(a, folder / "accuracy.png"),
            "Each reader's accuracy with its exact 95 % interval over the reader's cases; black: all readers "
            "(readers and cases resampled together).",
        ),
        (
            "Agreement with the AI and reliance",
            reliance_plot(a, folder / "reliance.png"),
            "Left: answers agreeing with the AI when it was right and when it was wrong (over-reliance). "
            "Right: reliance, the chance-corrected switch toward a wrong AI (0: none, 1: always).",
        ),
        (
            "Trust when the AI is right and when it is wrong",
            trust_plot(a, folder / "trust.png"),
            "Bars: all readers with 95 % intervals; dots: each reader's mean.",
        ),
        (
            "Time per case",
            seconds_plot(a, folder / "seconds.png"),
            "Each reader's median active seconds per case with a 95 % interval from order statistics.",
        ),
    ]
