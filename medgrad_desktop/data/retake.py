"""A visit's test-retest copies (`core.retest.RetestRule`): its image re-photographed K times and, where
the rule asks, carrying the artefacts a re-taken photo brings.

Why here: the artefacts are the generator's own drawings (`data.synth.artefacts`, the ones
`evaluation.perturb.insert_artefact` adds), and the model core sits below the data layer. They are
drawn on a square rendering of the copy at the rule's `artefact_side` and only the drawn difference is
scaled back to the photo, so they work on any RGB photo (any size or aspect) and a hair keeps its size
relative to the lesion on a 3000-pixel photo as on the generator's 224 pixels; at that side the copy is
exactly the generator's drawing.
"""

from __future__ import annotations

import cv2
import numpy as np

from medgrad_desktop.core.retest import RETEST_RULE, RetestRule, rephotograph
from medgrad_desktop.data.synth.artefacts import draw_artefact


def with_artefact(rgb: np.ndarray, kind: str, rng: np.random.Generator, side: int) -> np.ndarray:
    """The uint8 image with the generator's artefact `kind` drawn in (rate 1), drawn at side x side."""
    h, w = rgb.shape[:2]
    if (h, w) == (side, side):
        drawn = rgb.astype(np.float32)
        draw_artefact(kind, rng, drawn, 1.0)
        return np.clip(np.rint(drawn), 0, 255).astype(np.uint8)
    small = cv2.resize(rgb, (side, side), interpolation=cv2.INTER_AREA).astype(np.float32)
    drawn = small.copy()
    draw_artefact(kind, rng, drawn, 1.0)
    delta = cv2.resize(drawn - small, (w, h), interpolation=cv2.INTER_LINEAR)
    return np.clip(np.rint(rgb.astype(np.float32) + delta), 0, 255).astype(np.uint8)


def retest_copy(rgb: np.ndarray, i: int, rule: RetestRule = RETEST_RULE) -> np.ndarray:
    """Copy i: `rephotograph` with seed i, then artefact `rule.artefacts[i % len]` (if any) from the
    seed sequence (artefact_seed, i): the same copy for the same i whatever the rule's K."""
    out = rephotograph(rgb, i, rule)
    if rule.artefacts:
        kind = rule.artefacts[i % len(rule.artefacts)]
        out = with_artefact(out, kind, np.random.default_rng([rule.artefact_seed, i]), rule.artefact_side)
    return out


def retest_copies(rgb: np.ndarray, rule: RetestRule = RETEST_RULE) -> list[np.ndarray]:
    """The rule's K copies of one visit's image (copies 0..K-1: the same copies every time)."""
    return [retest_copy(rgb, i, rule) for i in range(rule.copies)]
