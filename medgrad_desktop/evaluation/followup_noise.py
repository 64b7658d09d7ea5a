"""The follow-up goal measured: how often the "beyond the noise" rule (`core.retest.RetestRule`) calls an
unchanged lesion changed and how often it sees a drawn change, for several rules in one run, and the
pre-registered choice between them (docs/archive/FOLLOWUP-NOISE-PREREGISTRATION.md).

Pairs from the generator, N per kind, pair i from seed S + i:
- unchanged: the lesion, then the same lesion re-photographed (`rephotograph` with a seed the retest
  copies never use) with new hairs drawn over it;
- new structure: the lesion drawn without its defining structure (the generator's counterfactual),
  then with it, re-photographed with hairs;
- growth: the lesion, then the same seed drawn with a 1.5x radius, re-photographed with hairs.
A pair shows a change when any row the rule judges is a change beyond the noise. Each image and copy is
classified once: rules whose copies differ only in K share the longer list's predictions (copy i is the
same whatever K is).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from medgrad_desktop.core.prediction import Prediction
from medgrad_desktop.core.retest import RetestRule, any_change, rephotograph, spread
from medgrad_desktop.data.retake import retest_copy, with_artefact
from medgrad_desktop.data.synth import SynthConfig, render_sample

KINDS = ("unchanged", "new structure", "growth")
RETAKE_SEED = 1000  # re-take pose seeds start here, apart from the retest copies' 0..K-1
GROWTH_CFG = SynthConfig(center_jitter=0.1, radius_range=(0.12, 0.2), artefact_rate=0.3)
REFERENCE = "default"
_ART = ("hairs", "bubbles")


def _rule(k: int, artefacts: tuple[str, ...], factor: float, rows: str, floor: float) -> RetestRule:
    """A candidate with every judged parameter spelled out, so it stays itself whatever the default is
    (pose, artefact drawing and the score's floor are the same for all)."""
    return RetestRule(copies=k, artefacts=artefacts, spread_factor=factor, judged_rows=rows, min_pp=floor)


CC, CS = "classes+criteria", "classes+score"
CANDIDATES: dict[str, RetestRule] = {  # the pre-registration's table; the first is the reference
    REFERENCE: _rule(4, (), 2.0, CC, 5.0),
    "art4": _rule(4, _ART, 2.0, CC, 5.0),
    "art8": _rule(8, _ART, 2.0, CC, 5.0),
    "art8-f2.5": _rule(8, _ART, 2.5, CC, 5.0),
    "art8-score": _rule(8, _ART, 2.0, CS, 5.0),
    "art8-floor8": _rule(8, _ART, 2.0, CC, 8.0),
    "art8-score-f2.5": _rule(8, _ART, 2.5, CS, 5.0),
}


def _retake(rgb: np.ndarray, seed: int) -> np.ndarray:
    """The generator's square image re-photographed with new hairs, drawn at its own side."""
    return with_artefact(
        rephotograph(rgb, RETAKE_SEED + seed), "hairs", np.random.default_rng(seed), rgb.shape[0]
    )


def pairs(kind: str, n: int, seed: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """N (first visit, second visit) images of one kind (see the module's docstring)."""
    out = []
    for i in range(n):
        s = seed + i
        if kind == "unchanged":
            img = render_sample(s, SynthConfig(counterfactual=False)).image
            out.append((img, _retake(img, s)))
        elif kind == "new structure":
            smp = render_sample(s)
            out.append((smp.counterfactual, _retake(smp.image, s)))
        elif kind == "growth":
            big = dataclasses.replace(GROWTH_CFG, radius_range=(0.18, 0.3))
            a = render_sample(s, GROWTH_CFG).image
            out.append((a, _retake(render_sample(s, big).image, s)))
        else:
            raise ValueError(f"unknown pair kind '{kind}'; known: {', '.join(KINDS)}")
    return out


def _copy_key(rule: RetestRule) -> RetestRule:
    """What makes copy i: the rule with its K and its judging parameters set to fixed values."""
    return dataclasses.replace(
        rule, copies=1, spread_factor=2.0, min_pp=5.0, min_points=1.0, judged_rows="classes+criteria"
    )


def shown_as_change(
    classify: Callable[[list[np.ndarray]], list[Prediction]],
    pair_list: list[tuple[np.ndarray, np.ndarray]],
    rules: dict[str, RetestRule],
) -> dict[str, list[bool]]:
    """Per rule, per pair: whether the follow-up table shows a change. `classify` takes a list of
    images (one pass per pair: both visits and every distinct copy)."""
    longest: dict[RetestRule, int] = {}
    for rule in rules.values():
        key = _copy_key(rule)
        longest[key] = max(longest.get(key, 0), rule.copies)
    out: dict[str, list[bool]] = {name: [] for name in rules}
    for a, b in pair_list:
        images = [a, b]
        start: dict[tuple[RetestRule, int], int] = {}
        for key, k in longest.items():
            for v, rgb in enumerate((a, b)):
                start[key, v] = len(images)
                images += [retest_copy(rgb, i, key) for i in range(k)]
        preds = classify(images)
        for name, rule in rules.items():
            key = _copy_key(rule)
            sa, sb = (spread([preds[v], *preds[start[key, v] : start[key, v] + rule.copies]]) for v in (0, 1))
            out[name].append(any_change(preds[0], preds[1], sa, sb, rule))
    return out


@dataclass(frozen=True)
class Counts:
    """One rule on one seed: U unchanged pairs shown as no change, N new-structure and G growth pairs
    shown as change, out of n pairs per kind."""

    unchanged: int
    new_structure: int
    growth: int
    n: int

    @property
    def weakest_change(self) -> int:
        return min(self.new_structure, self.growth)

    def meets_goals(self) -> bool:
        """The issue's goals: >= 90 % unchanged shown as none, >= 80 % of each change kind shown."""
        return (
            10 * self.unchanged >= 9 * self.n
            and 10 * self.new_structure >= 8 * self.n
            and 10 * self.growth >= 8 * self.n
        )


def counts(shown: dict[str, dict[str, list[bool]]], name: str) -> Counts:
    """`shown[kind][rule name]` (pairs shown as change) summed for one rule."""
    n = len(shown["unchanged"][name])
    return Counts(
        n - sum(shown["unchanged"][name]), sum(shown["new structure"][name]), sum(shown["growth"][name]), n
    )


def _step1(c: Counts, ref: Counts) -> bool:
    return 10 * c.unchanged >= 9 * c.n and c.unchanged + c.weakest_change > ref.unchanged + ref.weakest_change


def _step2(c: Counts, ref: Counts) -> bool:
    return c.new_structure >= ref.new_structure and c.growth >= ref.growth and c.unchanged > ref.unchanged


# step i of the choice: (the condition a candidate meets against the reference, its ranking among those)
_STEPS: tuple[tuple[Callable[[Counts, Counts], bool], Callable[[Counts], tuple[int, int]]], ...] = (
    (_step1, lambda c: (c.weakest_change, c.unchanged)),
    (_step2, lambda c: (c.unchanged, c.weakest_change)),
)


def choose(
    results: dict[str, Counts], copies: dict[str, int], reference: str = REFERENCE
) -> tuple[str | None, int | None]:
    """The pre-registered rule on the development run: (winner, step that chose it), or (None, None).
    Step 1: U >= 90 % and U + M better than the reference's, highest M; step 2: both change counts at
    least the reference's and U above it, highest U. Ties: the other count, fewer copies, then order."""
    ref = results[reference]
    names = [n for n in results if n != reference]
    order = {n: i for i, n in enumerate(names)}
    for step, (meets, rank) in enumerate(_STEPS, start=1):
        pool = [n for n in names if meets(results[n], ref)]
        if pool:
            return max(pool, key=lambda n: (*rank(results[n]), -copies[n], -order[n])), step
    return None, None


def confirmed(winner: Counts, reference: Counts, step: int) -> bool:
    """On the confirmation seed: the winner meets the condition of the step that chose it."""
    return _STEPS[step - 1][0](winner, reference)


def markdown_table(results: dict[str, Counts], rules: dict[str, RetestRule]) -> list[str]:
    lines = [
        "| Rule | K | Artefacts | F | Judged rows | Floor | Unchanged: no change | New structure | Growth |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for name, c in results.items():
        r = rules[name]
        lines.append(
            f"| `{name}` | {r.copies} | {', '.join(r.artefacts) or 'none'} | {r.spread_factor:g} | "
            f"{r.judged_rows} | {r.min_pp:g} pp | {c.unchanged}/{c.n} | {c.new_structure}/{c.n} | "
            f"{c.growth}/{c.n} |"
        )
    return lines
