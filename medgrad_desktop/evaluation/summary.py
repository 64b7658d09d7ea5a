"""Turn per-image scores into means with bootstrap intervals, paired differences and strata.

The direction of every score is stated here once, so tables can say which way is better.
"""

from __future__ import annotations

import numpy as np

from medgrad_desktop.evaluation.selection import FORM_CANDIDATES, select_form
from medgrad_desktop.evaluation.stats import N_BOOT, Interval, bootstrap_mean, paired_bootstrap
from medgrad_desktop.evaluation.suite import EvalResult

HIGHER_IS_BETTER = {
    "pointing": True,
    "energy": True,
    "energy_lift": True,
    "iou": True,
    "dice": True,
    "auroc": True,
    "deletion": False,
    "insertion": True,
    "mass": False,
    "area_share": None,
}

LABELS = {
    "target.pointing": "Pointing (target)",
    "target.energy": "Energy share (target)",
    "target.energy_lift": "Energy lift (target)",
    "target.auroc": "AUROC (target)",
    "target.iou": "IoU@0.5 (target)",
    "counterfactual.energy_lift": "Energy lift (cf. diff)",
    "counterfactual.pointing": "Pointing (cf. diff)",
    "lesion.energy_lift": "Energy lift (lesion)",
    "lesion.pointing": "Pointing (lesion)",
    "lesion.auroc": "AUROC (lesion)",
    "lesion.energy": "Energy share (lesion)",
    "mass.decoy": "Mass on decoys",
    "mass.artefact": "Mass on artefacts",
    "structure.energy_lift": "Energy lift (lesion structure)",
    "structure.pointing": "Pointing (lesion structure)",
    "criterion.pointing": "Pointing (criterion phrase)",
    "criterion.auroc": "AUROC (criterion phrase)",
    "criterion.energy_lift": "Energy lift (criterion phrase)",
}


def direction(key: str) -> bool | None:
    """True: higher is better; False: lower is better; None: descriptive."""
    head, _, tail = key.partition(".")
    if head in ("deletion", "insertion", "mass"):
        return HIGHER_IS_BETTER[head]
    return HIGHER_IS_BETTER.get(tail)


def label(key: str) -> str:
    if key in LABELS:
        return LABELS[key]
    head, _, tail = key.partition(".")
    if head in ("deletion", "insertion"):
        return f"{head.capitalize()} AUC ({tail})"
    return key


def arrow(key: str) -> str:
    d = direction(key)
    return "" if d is None else (" ↑" if d else " ↓")


def summarize(result: EvalResult, seed: int = 0, n_boot: int = N_BOOT) -> dict:
    keys = result.score_keys()
    names = result.map_names
    scores = {
        n: {k: bootstrap_mean(result.values(n, k), n_boot, seed).to_dict() for k in keys} for n in names
    }
    methods = [n for n in names if result.kinds[n] == "method"]
    baselines = [n for n in names if result.kinds[n] == "baseline"]
    ablation = [n for n in names if result.kinds[n] == "ablation"]
    pairs = [(a, b) for i, a in enumerate(methods) for b in methods[i + 1 :]]
    pairs += [(a, b) for a in methods for b in baselines]
    references = [n for n in names if result.kinds[n] == "reference"]
    pairs += [(r, m) for r in references for m in methods if result.params[r]["method"] == m]
    pairs += [(r, b) for r in references for b in baselines]
    if "medgrad" in methods:
        pairs += [(a, "medgrad") for a in ablation]
    # the candidate forms against what they must beat: texture alone, and the map they reweight
    pairs += [(a, b) for a in ablation for b in ("entropy", "grad-eclip", "random") if b in names]
    diffs = {}
    for a, b in pairs:
        d = {}
        for k in keys:
            iv = paired_bootstrap(result.values(a, k), result.values(b, k), n_boot, seed)
            if iv.n:
                d[k] = iv.to_dict()
        diffs[f"{a} - {b}"] = d
    out = {
        "scores": scores,
        "differences": diffs,
        "strata": strata(result, seed, n_boot),
        "reliance": reliance(result, seed, n_boot),
        "entropy_vs_lesion": entropy_lesion(result, seed, n_boot),
    }
    if any(n in FORM_CANDIDATES for n in ablation):
        out["form_selection"] = select_form(out, [n for n in ablation if n in FORM_CANDIDATES])
    return out


def reliance(result: EvalResult, seed: int, n_boot: int) -> dict:
    """Mean drop of p(target) after each edit of the image (counterfactual twin, inpainted artefact)."""
    keys = sorted({k for s in result.samples for k in s if k.startswith("p_drop_")})
    out = {}
    for k in keys:
        vals = [s.get(k, np.nan) for s in result.samples]
        out[k.removeprefix("p_drop_")] = bootstrap_mean(vals, n_boot, seed).to_dict()
    if out:
        out["p_target"] = bootstrap_mean([s["p_target"] for s in result.samples], n_boot, seed).to_dict()
    return out


def entropy_lesion(result: EvalResult, seed: int, n_boot: int) -> dict:
    rows = [s["entropy_vs_lesion"] for s in result.samples if s.get("entropy_vs_lesion")]
    if not rows:
        return {}
    return {k: bootstrap_mean([r[k] for r in rows], n_boot, seed).to_dict() for k in rows[0]}


STRATA_KEYS = (
    "target.pointing",
    "target.energy_lift",
    "target.auroc",
    "criterion.pointing",
    "mass.artefact",
    "deletion.grad-eclip/patch",
    "insertion.grad-eclip/patch",
)


def strata(result: EvalResult, seed: int, n_boot: int) -> dict:
    out: dict = {}
    fields = sorted({k for s in result.samples for k in s.get("strata", {})})
    for f in fields:
        if f == "structure":
            continue
        vals = [s["strata"].get(f) for s in result.samples]
        levels = sorted({str(v) for v in vals if v is not None})
        if len(levels) < 2:
            continue
        out[f] = {}
        for lv in levels:
            idx = np.array([str(v) == lv for v in vals])
            present = [k for k in STRATA_KEYS if k in result.score_keys()]
            out[f][lv] = {
                "n": int(idx.sum()),
                "scores": {
                    n: {k: bootstrap_mean(result.values(n, k)[idx], n_boot, seed).to_dict() for k in present}
                    for n in result.map_names
                    if result.kinds[n] != "ablation"
                },
            }
            # does entropy weighting help here? MedGrad minus the same map without it (Grad-ECLIP)
            if {"medgrad", "grad-eclip"} <= set(result.map_names):
                out[f][lv]["medgrad - grad-eclip"] = {
                    k: paired_bootstrap(
                        result.values("medgrad", k)[idx], result.values("grad-eclip", k)[idx], n_boot, seed
                    ).to_dict()
                    for k in present
                }
    return out


def interval(d: dict) -> Interval:
    return Interval(d["mean"], d["lo"], d["hi"], d["n"])
