"""Can MedGrad's entropy weight be made robust? The candidates and the rule fixed in advance
(docs/archive/ROBUST-WEIGHT-PREREGISTRATION.md), scored by the robustness protocol.

Every candidate is MedGrad's `multiply` form with another entropy weight, so the protocol scores it as
Grad-ECLIP's map times that weight (`robustness.weighted_eclip`) beside Grad-ECLIP itself: max-sensitivity
under uniform noise 5/255 (worst of 2 draws), attraction to each generator artefact, and target AUROC and
pointing of the clean maps, each map explaining the clean image's predicted class.

The rule (development seed):
1. gate: a candidate qualifies if its mean target AUROC >= the default's - AUROC_MARGIN and its mean
   target pointing >= the default's;
2. choice: among qualifying candidates other than `default`, the lowest median sensitivity ratio to
   Grad-ECLIP wins; within TIE_MARGIN of the lowest, the lower median ruler-attraction ratio, then the
   order of `CANDIDATES`;
3. the winner must have a lower median sensitivity ratio than `default`; otherwise none wins.
Confirmation (a new seed): the winner becomes the default if the 95 % interval of its median per-image
max-sensitivity ratio to `default` ends below 1 and it passes the gate of rule 1 on that seed.
"""

from __future__ import annotations

import math

import numpy as np

from medgrad_desktop.core.method_params import MedGradParams
from medgrad_desktop.evaluation.perturb import ARTEFACT_KINDS, Perturbation
from medgrad_desktop.evaluation.robustness import (
    REFERENCE,
    RobustnessConfig,
    RobustnessResult,
    bootstrap_median_ratio,
)

# today's default spelled out, so that "default" stays this weight whatever MedGradParams' default becomes
_TODAY = dict(combine="multiply", entropy_source="model_input", entropy_radius=5, alpha=1.0)
CANDIDATES: dict[str, MedGradParams] = {
    "default": MedGradParams(**_TODAY, entropy_smooth=0.0, entropy_levels=256),
    "smooth1": MedGradParams(**_TODAY | {"entropy_smooth": 1.0}),
    "levels16": MedGradParams(**_TODAY | {"entropy_levels": 16}),
    "radius10": MedGradParams(**_TODAY | {"entropy_radius": 10}),
    "alpha05": MedGradParams(**_TODAY | {"alpha": 0.5}),
    "smooth1-levels16": MedGradParams(**_TODAY | {"entropy_smooth": 1.0, "entropy_levels": 16}),
}
INCUMBENT = "default"
NOISE = Perturbation("uniform", 5.0, stochastic=True)
SENSITIVITY = f"{NOISE.key}.max_sensitivity"
DRAWS = 2
AUROC_MARGIN = 0.01
TIE_MARGIN = 0.01
TIE_ARTEFACT = "ruler"
GOAL_RATIO = 1.05  # the goals for the winner: sensitivity ratio's upper end, median attraction
GOAL_AUROC_MARGIN = 0.02  # target AUROC at least Grad-ECLIP's minus this
SEEDS = {"development": 6303, "confirmation": 7404}


def robust_weight_config(seed: int, batch_images: int = 8) -> RobustnessConfig:
    """The robustness protocol restricted to what the pre-registration scores."""
    return RobustnessConfig(
        seed=seed,
        methods=(REFERENCE,),
        baselines=(),
        perturbations=(NOISE,),
        draws=DRAWS,
        artefacts=ARTEFACT_KINDS,
        attack_eps=(),
        batch_images=batch_images,
        weight_variants=dict(CANDIDATES),
        clean_pointing=True,
    )


def _finite_mean(v: np.ndarray) -> float:
    v = v[np.isfinite(v)]
    return float(v.mean()) if len(v) else float("nan")


def _finite_median(v: np.ndarray) -> float:
    v = v[np.isfinite(v)]
    return float(np.median(v)) if len(v) else float("nan")


def summarize(result: RobustnessResult, seed: int) -> dict:
    """Per map (Grad-ECLIP and each candidate): the median max-sensitivity, its median per-image ratio to
    Grad-ECLIP and to `default` with 95 % bootstrap intervals, per artefact kind the median attraction
    and its ratio to Grad-ECLIP, and the mean clean target AUROC and pointing."""
    ref_sens = result.values(REFERENCE, SENSITIVITY)
    inc_sens = result.values(INCUMBENT, SENSITIVITY)
    maps: dict[str, dict] = {}
    for name in result.config.map_names:
        sens = result.values(name, SENSITIVITY)
        row: dict = {
            "sensitivity": _finite_median(sens),
            "target_auroc": _finite_mean(result.values(name, "clean.target_auroc")),
            "target_pointing": _finite_mean(result.values(name, "clean.target_pointing")),
            "attraction": {},
        }
        if name != REFERENCE:
            row["sensitivity_vs_grad_eclip"] = bootstrap_median_ratio(sens, ref_sens, seed=seed).to_dict()
            row["sensitivity_vs_default"] = bootstrap_median_ratio(sens, inc_sens, seed=seed).to_dict()
        for kind in result.config.artefacts:
            att = result.values(name, f"artefact:{kind}.attraction")
            a = {"median": _finite_median(att)}
            if name != REFERENCE:
                ref_att = result.values(REFERENCE, f"artefact:{kind}.attraction")
                a["vs_grad_eclip"] = bootstrap_median_ratio(att, ref_att, seed=seed).to_dict()
            row["attraction"][kind] = a
        if name in CANDIDATES:
            row["params"] = CANDIDATES[name].to_dict()
        maps[name] = row
    changed = {k: {"changed": result.changed.get(k, 0), "copies": c} for k, c in result.copies.items()}
    return {"maps": maps, "prediction_changed": changed}


def _num(x: float | None) -> float:
    return float(x) if x is not None and math.isfinite(x) else float("nan")


def passes_gate(row: dict, incumbent: dict) -> bool:
    """Rule 1: target AUROC no lower than the incumbent's minus AUROC_MARGIN, pointing no lower."""
    auroc, pointing = _num(row["target_auroc"]), _num(row["target_pointing"])
    return auroc >= _num(incumbent["target_auroc"]) - AUROC_MARGIN and pointing >= _num(
        incumbent["target_pointing"]
    )


def _ratio(row: dict, key: str) -> float:
    v = _num(row[key]["mean"]) if row.get(key) and row[key].get("n") else float("nan")
    return v if math.isfinite(v) else math.inf


def _ruler_ratio(row: dict) -> float:
    a = row["attraction"].get(TIE_ARTEFACT, {}).get("vs_grad_eclip")
    return _num(a["mean"]) if a and a.get("n") and math.isfinite(_num(a["mean"])) else math.inf


def choose(summary: dict) -> dict:
    """Rules 1-3 on a development summary: who qualified, the ranking used and the winner (None when
    none beats `default`). Summary ratios are the "mean" fields of `Interval`: here medians."""
    maps = summary["maps"]
    inc = maps[INCUMBENT]
    names = [n for n in CANDIDATES if n in maps]
    qualifies = {n: passes_gate(maps[n], inc) for n in names}
    pool = [n for n in names if n != INCUMBENT and qualifies[n]]
    sens = {n: _ratio(maps[n], "sensitivity_vs_grad_eclip") for n in names}
    best = min((sens[n] for n in pool), default=math.inf)
    near = [n for n in pool if sens[n] <= best + TIE_MARGIN and math.isfinite(sens[n])]
    near.sort(key=lambda n: (_ruler_ratio(maps[n]), names.index(n)))
    leader = near[0] if near else None
    winner = leader if leader is not None and sens[leader] < sens[INCUMBENT] else None
    return {
        "qualifies": qualifies,
        "sensitivity_ratio": {n: (None if math.isinf(v) else v) for n, v in sens.items()},
        "within_tie_margin": near,
        "leader": leader,
        "winner": winner,
    }


def confirm(summary: dict, winner: str) -> dict:
    """The confirmation rule on a new seed's summary: (a) the interval of the winner's median per-image
    max-sensitivity ratio to `default` ends below 1, (b) the winner passes rule 1's gate."""
    maps = summary["maps"]
    row = maps[winner]
    iv = row["sensitivity_vs_default"]
    a = bool(iv.get("n")) and _num(iv["hi"]) < 1.0
    b = passes_gate(row, maps[INCUMBENT])
    return {"winner": winner, "ratio_to_default": iv, "a_interval_below_1": a, "b_gate": b, "passes": a and b}


def goals(summary: dict, name: str) -> dict:
    """The issue's goals for a form: sensitivity ratio to Grad-ECLIP with upper end <= GOAL_RATIO,
    median attraction <= GOAL_RATIO for every kind, target AUROC >= Grad-ECLIP's - GOAL_AUROC_MARGIN."""
    maps = summary["maps"]
    row = maps[name]
    iv = row["sensitivity_vs_grad_eclip"]
    att = {k: _num(v["median"]) <= GOAL_RATIO for k, v in row["attraction"].items()}
    auroc_ok = _num(row["target_auroc"]) >= _num(maps[REFERENCE]["target_auroc"]) - GOAL_AUROC_MARGIN
    sens_ok = bool(iv.get("n")) and _num(iv["hi"]) <= GOAL_RATIO
    return {
        "sensitivity": sens_ok,
        "attraction": att,
        "target_auroc": auroc_ok,
        "all": sens_ok and all(att.values()) and auroc_ok,
    }


def _iv(d: dict | None) -> str:
    if not d or not d.get("n") or not math.isfinite(_num(d["mean"])):
        return "n/a"
    return f"{d['mean']:.2f} [{d['lo']:.2f}, {d['hi']:.2f}]"


def markdown_table(summary: dict) -> list[str]:
    """One row per map: the pre-registration's metrics."""
    kinds = list(next(iter(summary["maps"].values()))["attraction"])
    lines = [
        "| map | max-sens. uniform 5/255 | ratio to Grad-ECLIP | ratio to default | attraction "
        + " / ".join(kinds)
        + " | attraction ratio to Grad-ECLIP "
        + " / ".join(kinds)
        + " | target AUROC | target pointing |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for name, row in summary["maps"].items():
        att = " / ".join(f"{_num(row['attraction'][k]['median']):.2f}" for k in kinds)
        att_r = " / ".join(
            f"{_num(row['attraction'][k].get('vs_grad_eclip', {}).get('mean')):.2f}"
            if row["attraction"][k].get("vs_grad_eclip")
            else "–"
            for k in kinds
        )
        lines.append(
            f"| {name} | {row['sensitivity']:.3f} | {_iv(row.get('sensitivity_vs_grad_eclip')) if name != REFERENCE else '–'}"
            f" | {_iv(row.get('sensitivity_vs_default')) if name != REFERENCE else '–'} | {att} | {att_r}"
            f" | {row['target_auroc']:.3f} | {row['target_pointing']:.3f} |"
        )
    return lines
