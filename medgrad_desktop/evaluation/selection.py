"""The candidate forms of MedGrad E-CLIP and the rule, fixed before the data, that picks one.

The rule rewards evidence of the model, not texture. Local entropy alone is high on the textured
lesion and scores well on area measures such as AUROC without looking at the model, so:
1. a candidate qualifies only if its mean target pointing beats the local-entropy baseline's on the
   same images (paired mean difference > 0);
2. qualifying candidates are ranked on three primary scores: target pointing (higher), pointing at
   the counterfactual difference (higher) and deletion AUC on `grad-eclip/patch` (lower); the
   smallest sum of ranks wins;
3. ties go to the higher target AUROC (secondary), then to the order of `FORM_CANDIDATES`;
4. if no candidate qualifies, the default stays the literal slide equation (`FALLBACK`).
"""

from __future__ import annotations

import numpy as np

from medgrad_desktop.core.explain import MedGradParams

FORM_CANDIDATES: dict[str, MedGradParams] = {
    "medgrad form=replace": MedGradParams(combine="replace"),
    "medgrad form=multiply": MedGradParams(combine="multiply"),
    "medgrad form=pixel": MedGradParams(combine="pixel"),
    # half-strength weight, (0.5 + 0.5 x entropy): where entropy is flat the map stays Grad-ECLIP's,
    # and no cell loses more than half its evidence to low texture
    "medgrad form=multiply alpha=0.5": MedGradParams(combine="multiply", alpha=0.5),
    "medgrad form=pixel alpha=0.5": MedGradParams(combine="pixel", alpha=0.5),
}
FALLBACK = "medgrad form=replace"
PRIMARY = (("target.pointing", True), ("counterfactual.pointing", True), ("deletion.grad-eclip/patch", False))
SECONDARY = "target.auroc"
GATE_BASELINE = "entropy"


def _mean(summary: dict, name: str, key: str) -> float:
    v = summary["scores"].get(name, {}).get(key)
    return float(v["mean"]) if v and v["n"] else float("nan")


def select_form(summary: dict, candidates: list[str] | None = None) -> dict:
    """Apply the rule to a summary that scored the candidates; returns every number the rule used,
    which candidates qualified, their ranks, and the winner (None if none qualified)."""
    names = [n for n in (candidates or list(FORM_CANDIDATES)) if n in summary["scores"]]
    rows: dict[str, dict] = {}
    for n in names:
        gate = summary["differences"].get(f"{n} - {GATE_BASELINE}", {}).get("target.pointing")
        gate_mean = float(gate["mean"]) if gate and gate["n"] else float("nan")
        rows[n] = {
            "scores": {k: _mean(summary, n, k) for k, _ in PRIMARY}
            | {SECONDARY: _mean(summary, n, SECONDARY)},
            "pointing_minus_entropy": gate,
            "qualifies": bool(np.isfinite(gate_mean) and gate_mean > 0),
        }
    qualified = [n for n in names if rows[n]["qualifies"]]
    for key, higher in PRIMARY:
        vals = np.array([rows[n]["scores"][key] for n in qualified], dtype=float)
        vals = np.where(np.isfinite(vals), vals, -np.inf if higher else np.inf)
        order = -vals if higher else vals
        ranks = _average_ranks(order)
        for n, r in zip(qualified, ranks, strict=True):
            rows[n].setdefault("ranks", {})[key] = float(r)
    for n in qualified:
        rows[n]["rank_sum"] = float(sum(rows[n]["ranks"].values()))
    ordered = sorted(
        qualified,
        key=lambda n: (
            rows[n]["rank_sum"],
            -np.nan_to_num(rows[n]["scores"][SECONDARY], nan=-np.inf),
            names.index(n),
        ),
    )
    winner = ordered[0] if ordered else None
    default = winner or FALLBACK
    return {
        "rule": __doc__.split("\n\n", 1)[1].strip(),
        "candidates": rows,
        "ranking": ordered,
        "winner": winner,
        "winner_params": FORM_CANDIDATES[winner].to_dict() if winner in FORM_CANDIDATES else None,
        "default": default,
        "default_params": FORM_CANDIDATES[default].to_dict(),
    }


def _average_ranks(values: np.ndarray) -> np.ndarray:
    """1 = best (smallest value); equal values share their mean rank."""
    order = np.argsort(values, kind="stable")
    ranks = np.empty(len(values))
    ranks[order] = np.arange(1, len(values) + 1)
    for v in np.unique(values):
        tie = values == v
        ranks[tie] = ranks[tie].mean()
    return ranks


# Which map the app opens on (docs/EXPLANATIONS.md, "The rules fixed in advance"), fixed before the report
# run: the candidate with the higher mean target AUROC on the development run; within the margin the map
# the app opened on before stays.
OPENING_CANDIDATES = ("medgrad", "grad-eclip")
OPENING_INCUMBENT = "medgrad"
OPENING_MARGIN = 0.01


def select_opening_method(summary: dict) -> dict:
    """{"winner": method, "auroc": {method: mean target AUROC}} by the rule above. MedGrad E-CLIP
    competes in the form the form rule picks from the same run (the app's default form), not in the
    form the run happened to use as its default."""
    form = select_form(summary)["winner"] or FALLBACK
    auroc = {
        "medgrad": _mean(summary, form, SECONDARY),
        "grad-eclip": _mean(summary, "grad-eclip", SECONDARY),
    }
    best = max(OPENING_CANDIDATES, key=lambda m: auroc[m])
    if best != OPENING_INCUMBENT and not auroc[best] > auroc[OPENING_INCUMBENT] + OPENING_MARGIN:
        best = OPENING_INCUMBENT
    return {"winner": best, "auroc": auroc, "medgrad_form": form}
