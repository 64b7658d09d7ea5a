"""A heatmap as plain data: raw grid, normalized grid and the map at image size, plus what it explains.

The raw grid is kept because per-map min-max hides how strong the evidence is; reports print its
statistics beside the picture, and it decides whether the map has anything to show at all
(`core.map_evidence`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

import cv2
import numpy as np

from medgrad_desktop.core.map_evidence import EMPTY_MAP_RULE
from medgrad_desktop.core.prompts import Target


def minmax(values: np.ndarray, eps: float = 0.0, *, flat: float = 0.0, flat_range: float = 0.0) -> np.ndarray:
    """The project's one min-max scaling, float32: (v - min) / (max - min + eps).

    Rule for a flat map: when max - min <= `flat_range` (by default only a constant map) every value
    becomes `flat`, 0 by default: a map without contrast shows no evidence anywhere (and never NaN,
    whatever `eps`). `eps` is a method's denominator guard (`MethodParams.epsilon`); it changes no flat
    map. The entropy weight passes `flat=1` and a small `flat_range` (see `core.entropy`).
    """
    v = np.asarray(values, dtype=np.float32)
    lo, hi = float(v.min()), float(v.max())
    if hi - lo <= flat_range:
        return np.full(v.shape, flat, np.float32)
    return ((v - lo) / (hi - lo + eps)).astype(np.float32)


def upsample(grid: np.ndarray, width: int, height: int) -> np.ndarray:
    """Bilinear, half-pixel centres: each grid cell covers its patch of the squashed image."""
    return cv2.resize(
        grid.astype(np.float32), (max(1, width), max(1, height)), interpolation=cv2.INTER_LINEAR
    )


@dataclass(frozen=True)
class Heatmap:
    method: str
    target: Target
    score: float  # S = cos(image embedding, target embedding): what the map explains
    raw: np.ndarray  # (gh, gw) float32, unnormalized, >= 0
    normalized: np.ndarray  # (gh, gw) float32 in [0, 1]
    image_size: tuple[int, int]  # (width, height) of the upright original image
    params: dict = field(default_factory=dict)
    model_sha256: str = ""

    @cached_property
    def image_map(self) -> np.ndarray:
        """(H, W) float32 in [0, 1] at the original image's size."""
        return upsample(self.normalized, *self.image_size)

    @property
    def empty(self) -> bool:
        """All zero or flat (`EMPTY_MAP_RULE`): no part of the image counts more than another, so the
        map is not drawn."""
        return EMPTY_MAP_RULE.is_empty(self.raw)

    @property
    def empty_reason(self) -> str:
        return EMPTY_MAP_RULE.reason(self.raw)

    def map_at(self, width: int, height: int) -> np.ndarray:
        return upsample(self.normalized, width, height)

    def stats(self) -> dict:
        r = self.raw
        return {
            "raw_min": float(r.min()),
            "raw_max": float(r.max()),
            "raw_mean": float(r.mean()),
            "raw_sum": float(r.sum()),
            "zero_fraction": float((r <= 0).mean()),
            "argmax_cell": [int(i) for i in np.unravel_index(int(np.argmax(r)), r.shape)],
            "score": self.score,
        }
