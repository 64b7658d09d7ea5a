"""The model side of a map's stability figure (`core.stability`): the same methods and target explained
on the rule's noisy copies of the model-input image, every copy and method in one batched pass, each
map scored against the map it was drawn from.

One function for every caller (the app's stability job, its comparison of methods, the reports), so the
figure beside a map in the app is the figure its report prints and the project store keeps.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from medgrad_desktop.core.explain.engine import analyze_batch
from medgrad_desktop.core.method_params import MethodParams
from medgrad_desktop.core.model import ClipModel
from medgrad_desktop.core.prompts import Target
from medgrad_desktop.core.stability import STABILITY_RULE, StabilityRule


def measure_stability(
    clip: ClipModel,
    rgb: np.ndarray,
    target: Target,
    params: Sequence[MethodParams],
    bases: Sequence[np.ndarray],
    rule: StabilityRule = STABILITY_RULE,
) -> list[float | None]:
    """Max-sensitivity of each map `bases[i]` (its min-max grid, made by `params[i]` for `target` from
    `rgb`), in the order given; None for a flat or empty map, which has no detail to read. No pass runs
    when no map has contrast."""
    if len(params) != len(bases):
        raise ValueError("one base map per method parameters")
    todo = [i for i, b in enumerate(bases) if rule.measurable(b)]
    out: list[float | None] = [None] * len(bases)
    if not todo:
        return out
    copies = rule.noisy_copies(clip.squash(rgb))
    results = analyze_batch(clip, copies, [target], [params[i] for i in todo], with_prediction=False)
    for i in todo:
        out[i] = rule.score(bases[i], [r.get(params[i].method, target).normalized for r in results])
    return out
