"""Maps of several named settings, where two settings may belong to the same method.

`analyze_batch` keeps one map per (method, target), so settings of one method go to separate calls;
settings of different methods share a call and with it the forward of the image batch.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from medgrad_desktop.core.explain import Heatmap, analyze_batch
from medgrad_desktop.core.method_params import MethodParams
from medgrad_desktop.core.model import ClipModel
from medgrad_desktop.core.prompts import Target


def rounds(named: Mapping[str, MethodParams]) -> list[dict[str, MethodParams]]:
    """Split the settings into as few groups as possible with at most one setting per method."""
    out: list[dict[str, MethodParams]] = []
    for n, p in named.items():
        free = next((r for r in out if all(q.method != p.method for q in r.values())), None)
        if free is None:
            out.append(free := {})
        free[n] = p
    return out


def named_maps(
    clip: ClipModel, images: list[np.ndarray], targets: list[Target], named: Mapping[str, MethodParams]
) -> list[dict[tuple[str, str], Heatmap]]:
    """Per image: {(setting name, target key): Heatmap} for every setting and target."""
    out: list[dict[tuple[str, str], Heatmap]] = [{} for _ in images]
    if not named or not targets:
        return out
    for r in rounds(named):
        res = analyze_batch(clip, images, targets, list(r.values()), with_prediction=False)
        for b, ar in enumerate(res):
            for n, p in r.items():
                for t in targets:
                    out[b][(n, t.key)] = ar.get(p.method, t)
    return out
