"""How much a map would move if the same photo carried a little harmless sensor noise: the stability
figure the app shows beside each map.

Why: a map that changes visibly under noise no one can see (MedGrad's entropy weight follows texture)
invites reading detail that is not there. The figure is max-sensitivity (Yeh et al. 2019, the
definition `evaluation.robustness` and Quantus use): the worst relative L2 change ||e - e'|| / ||e||
of the min-max map e over `copies` noisy copies e' of the model-input image, each copy with uniform
noise in [-noise, +noise]/255 per pixel and channel, deterministic from the rule's seed (the same
copies every time). Maps are compared on a `compare_cells` x `compare_cells` grid (bilinear from the
token grid), as the evaluation compares them. A flat or empty map has no figure: it has no detail to
read.

The threshold: under uniform noise 5/255 the median max-sensitivity is 0.06 for Grad-ECLIP, 0.18 for
MedGrad E-CLIP and 0.34 for local entropy alone, a map that follows texture and knows nothing of the
model (docs/EXPLANATIONS.md, "How stable is each map?"). A map above `unstable_above` (0.25) moves
more than a typical MedGrad map, toward what texture alone does: its fine detail is not the model's.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass

import cv2
import numpy as np

STABLE_TEXT = "stable"
UNSTABLE_TEXT = "unstable: do not read fine detail"
NO_FIGURE_TEXT = "no figure: flat map"


@dataclass(frozen=True)
class StabilityRule:
    # K: noisy copies, explained together in one batched pass. One: on the demo model one copy already
    # costs about the map itself (MedGrad's entropy weight is recomputed per copy), so no K meets the
    # +50 % cost goal (docs/BENCHMARKS.md, "Start here"); each further copy adds about +60 %.
    copies: int = 1
    noise_255: float = 5.0  # half-width of the uniform noise, grey levels of 255
    seed: int = 5255
    unstable_above: float = 0.25  # max-sensitivity above this reads "unstable" (see the module's reason)
    compare_cells: int = 40

    def noisy_copies(self, rgb: np.ndarray) -> list[np.ndarray]:
        """`copies` copies of the uint8 image with uniform noise, rounded and clipped; copy i's noise
        comes from the seed sequence (seed, i), so the copies are the same for the same image."""
        out = []
        for i in range(self.copies):
            rng = np.random.default_rng([self.seed, i])
            noise = rng.uniform(-self.noise_255, self.noise_255, rgb.shape).astype(np.float32)
            out.append(np.clip(np.rint(rgb.astype(np.float32) + noise), 0, 255).astype(np.uint8))
        return out

    def _grid(self, m: np.ndarray) -> np.ndarray:
        n = self.compare_cells
        return cv2.resize(np.asarray(m, np.float32), (n, n), interpolation=cv2.INTER_LINEAR)

    def measurable(self, base: np.ndarray) -> bool:
        """A map with contrast: a flat or empty map has no detail whose stability could be read."""
        b = np.asarray(base, np.float32)
        return b.size > 0 and float(b.max() - b.min()) > 0.0

    def score(self, base: np.ndarray, others: list[np.ndarray]) -> float | None:
        """Max-sensitivity of the min-max map `base` against the copies' maps; None for a flat or empty
        map (no contrast: nothing to measure) or without copies."""
        if not others or not self.measurable(base):
            return None
        e = self._grid(base)
        norm = float(np.linalg.norm(e))
        return max(float(np.linalg.norm(e - self._grid(o))) / norm for o in others)

    def words(self, value: float | None) -> str:
        """The figure's meaning; a flat map (None) has none."""
        if value is None:
            return NO_FIGURE_TEXT
        return STABLE_TEXT if value <= self.unstable_above else UNSTABLE_TEXT

    def text(self, value: float | None) -> str:
        """The line under the map: the figure and its meaning."""
        if value is None:
            return f"Stability: {NO_FIGURE_TEXT}"
        return f"Stability: {value:.2f} · {self.words(value)}"

    def to_dict(self) -> dict:
        return asdict(self)

    def to_json(self) -> str:
        """The rule as the project store keeps it beside each figure: canonical JSON, so a figure
        measured under other parameters is told apart."""
        return json.dumps(self.to_dict(), sort_keys=True, separators=(",", ":"))

    def parameters_text(self) -> str:
        """How the figures were measured, once per report (its parameters section)."""
        return (
            f"max-sensitivity of each map over {self.copies} "
            f"{'copy' if self.copies == 1 else 'copies'} of the model's input with uniform noise of "
            f"±{self.noise_255:g}/255 per pixel (seed {self.seed}), maps compared on a "
            f"{self.compare_cells}×{self.compare_cells} grid; 0 = unchanged; up to {self.unstable_above:g} "
            f'reads "{STABLE_TEXT}", above it "{UNSTABLE_TEXT}"; a flat map has no figure'
        )

    def how_measured(self) -> str:
        """The tooltip: how the figure was measured and where the threshold comes from."""
        return (
            f"Max-sensitivity: the largest relative change ||e - e'|| / ||e|| of this map over {self.copies} "
            f"{'copy' if self.copies == 1 else 'copies'} of the model's input with uniform noise of "
            f"±{self.noise_255:g}/255 per pixel (the same every time), method and target unchanged. "
            f"0 = unchanged. Up to {self.unstable_above:g} reads stable; above it the "
            "map moves more than a typical MedGrad E-CLIP map (median 0.18; Grad-ECLIP 0.06, local "
            "entropy alone 0.34 on the robustness run), so its fine detail is not to be read."
        )


STABILITY_RULE = StabilityRule()
