"""Deletion and insertion curves (Petsiuk et al., RISE) under two stated protocols.

- `grad-eclip`: the most salient 50 % of units in 0.5 % steps; deleted units get uniform random RGB,
  insertion starts from a black image (Grad-ECLIP's evaluation scripts).
- `rise`: the full range; deleted units become black, insertion starts from a Gaussian-blurred copy
  (RISE: kernel 11, sigma 5).

Units are 16x16 patches (the model's own tokens) or pixels (the map upsampled bilinearly to the
model input). Units are ranked by saliency, ties (the zero regions of a ReLU map) broken by a fixed
random order that is the same for every map of an image, so methods are compared on equal terms.
The score is any batched function of uint8 images, normally `CompetitorSoftmax`.
AUC is the trapezoid area under probability versus fraction, divided by the range width, i.e. the
mean probability over the range: deletion lower is better, insertion higher is better.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import asdict, dataclass

import cv2
import numpy as np

ScoreFn = Callable[[np.ndarray], np.ndarray]  # (N, H, W, 3) uint8 -> (N,) or (N, P)


@dataclass(frozen=True)
class Protocol:
    name: str  # "grad-eclip" | "rise"
    unit: str  # "patch" | "pixel"
    max_fraction: float  # 0.5 (Grad-ECLIP) or 1.0 (RISE)
    steps: int  # points after the start; Grad-ECLIP's 0.5 % steps over 50 % = 100
    deletion_fill: str  # "uniform-random-rgb" | "black"
    insertion_base: str  # "black" | "blur"
    blur_ksize: int = 11
    blur_sigma: float = 5.0

    @property
    def key(self) -> str:
        return f"{self.name}/{self.unit}"

    def fractions(self) -> np.ndarray:
        return np.linspace(0.0, self.max_fraction, self.steps + 1)

    def to_dict(self) -> dict:
        d = asdict(self)
        d["step_fraction"] = self.max_fraction / self.steps
        d["auc"] = "trapezoid over the fraction range / range width (mean probability)"
        return d


def grad_eclip_protocol(unit: str, steps: int = 100) -> Protocol:
    return Protocol("grad-eclip", unit, 0.5, steps, "uniform-random-rgb", "black")


def rise_protocol(unit: str, steps: int = 100) -> Protocol:
    return Protocol("rise", unit, 1.0, steps, "black", "blur")


def standard_protocols(steps: int = 100) -> list[Protocol]:
    return [
        grad_eclip_protocol("patch", steps),
        grad_eclip_protocol("pixel", steps),
        rise_protocol("patch", steps),
        rise_protocol("pixel", steps),
    ]


def tie_break_order(n: int, seed: int) -> np.ndarray:
    """A fixed random permutation of the units; the same seed gives the same order for every map."""
    return np.random.default_rng(seed).permutation(n)


def rank_units(values: np.ndarray, tie_perm: np.ndarray) -> np.ndarray:
    """Unit indices from most to least salient; equal values keep the order of `tie_perm`."""
    v = np.asarray(values, dtype=np.float64).ravel()
    if len(tie_perm) != v.size:
        raise ValueError("tie-break permutation and saliency differ in size")
    return tie_perm[np.argsort(-v[tie_perm], kind="stable")]


def unit_saliency(
    map_grid: np.ndarray, size: int, unit: str, patch_grid: tuple[int, int] | None = None
) -> np.ndarray:
    """Per-unit saliency: the grid itself for patches (a finer map is averaged over each patch of
    `patch_grid`), the bilinear upsampling for pixels."""
    if unit == "patch":
        g = np.asarray(map_grid, dtype=np.float32)
        if patch_grid is not None and g.shape != tuple(patch_grid):
            return cv2.resize(g, (patch_grid[1], patch_grid[0]), interpolation=cv2.INTER_AREA)
        return g
    if unit == "pixel":
        g = np.asarray(map_grid, dtype=np.float32)
        if g.shape == (size, size):
            return g
        return cv2.resize(g, (size, size), interpolation=cv2.INTER_LINEAR)
    raise ValueError(f"unknown unit '{unit}'; choose patch or pixel")


def _unit_pixels(unit: str, grid: tuple[int, int], size: int) -> np.ndarray:
    """Map from each pixel to its unit index (H, W)."""
    if unit == "pixel":
        return np.arange(size * size).reshape(size, size)
    gh, gw = grid
    ys = np.minimum(np.arange(size) * gh // size, gh - 1)
    xs = np.minimum(np.arange(size) * gw // size, gw - 1)
    return ys[:, None] * gw + xs[None, :]


def fill_image(kind: str, image: np.ndarray, seed: int, protocol: Protocol | None = None) -> np.ndarray:
    if kind == "black":
        return np.zeros_like(image)
    if kind == "uniform-random-rgb":
        return np.random.default_rng(seed).integers(0, 256, image.shape, dtype=np.uint8)
    if kind == "blur":
        k = protocol.blur_ksize if protocol else 11
        s = protocol.blur_sigma if protocol else 5.0
        return cv2.GaussianBlur(image, (k, k), s)
    raise ValueError(f"unknown fill '{kind}'")


@dataclass
class CurveSpec:
    """The perturbed images of one curve are built lazily; this holds what is needed to build them."""

    mode: str  # "deletion" | "insertion"
    protocol: Protocol
    counts: np.ndarray  # units touched at each point
    ranks: np.ndarray  # (H, W) rank of each pixel's unit in the saliency order


def curve_spec(
    map_grid: np.ndarray,
    size: int,
    protocol: Protocol,
    mode: str,
    seed: int,
    patch_grid: tuple[int, int] | None = None,
) -> CurveSpec:
    sal = unit_saliency(map_grid, size, protocol.unit, patch_grid)
    n = sal.size
    order = rank_units(sal, tie_break_order(n, seed))
    rank_of_unit = np.empty(n, dtype=np.int64)
    rank_of_unit[order] = np.arange(n)
    grid = sal.shape if protocol.unit == "patch" else (size, size)
    ranks = rank_of_unit[_unit_pixels(protocol.unit, grid, size)]
    counts = np.rint(protocol.fractions() * n).astype(np.int64)
    return CurveSpec(mode, protocol, counts, ranks)


def curve_images(image: np.ndarray, spec: CurveSpec, seed: int) -> np.ndarray:
    """(steps + 1, H, W, 3) uint8: deletion replaces the top units by the fill, insertion reveals them."""
    p = spec.protocol
    if spec.mode == "deletion":
        other = fill_image(p.deletion_fill, image, seed, p)
    elif spec.mode == "insertion":
        other = fill_image(p.insertion_base, image, seed, p)
    else:
        raise ValueError(f"unknown mode '{spec.mode}'")
    touched = spec.ranks[None] < spec.counts[:, None, None]  # (K, H, W)
    if spec.mode == "deletion":
        return np.where(touched[..., None], other[None], image[None])
    return np.where(touched[..., None], image[None], other[None])


def auc(fractions: np.ndarray, values: np.ndarray) -> float:
    width = float(fractions[-1] - fractions[0])
    return float(np.trapezoid(values, fractions) / width) if width > 0 else float(values[0])


@dataclass
class Curve:
    mode: str
    protocol: Protocol
    fractions: np.ndarray
    values: np.ndarray

    @property
    def auc(self) -> float:
        return auc(self.fractions, self.values)


def _score_unique(score: ScoreFn, images: np.ndarray) -> np.ndarray:
    """Score each distinct image once: the start points (the image, the black or blurred base) and
    ties shared by several maps repeat across curves, and a forward costs far more than a hash."""
    keys = [hashlib.blake2b(im.tobytes(), digest_size=16).digest() for im in images]
    first: dict[bytes, int] = {}
    for i, k in enumerate(keys):
        first.setdefault(k, i)
    uniq = list(first.values())
    probs = np.asarray(score(images[uniq]))
    pos = {k: j for j, k in enumerate(first)}
    return probs[[pos[k] for k in keys]]


def perturbation_curves(
    image: np.ndarray,
    maps: dict[str, np.ndarray],
    score: ScoreFn,
    target_index: int,
    protocols: list[Protocol],
    seed: int,
    modes: tuple[str, ...] = ("deletion", "insertion"),
    max_batch: int = 256,
    patch_grid: tuple[int, int] | None = None,
) -> dict[tuple[str, str, str], Curve]:
    """Curves for every map x protocol x mode of one image, scored in shared batches.

    `maps` are grids (gh, gw) or pixel maps (S, S); `image` is the uint8 model input (S, S, 3); patch
    units of a pixel map are the means over the patches of `patch_grid` (the model's tokens).
    Returns {(map name, protocol key, mode): Curve}. The fill and the tie order depend only on
    `seed`, so all maps of the image are perturbed identically apart from their ranking.
    """
    size = image.shape[0]
    if image.shape[:2] != (size, size):
        raise ValueError("perturbation expects the square model input image")
    jobs = [
        (name, p, mode, curve_spec(m, size, p, mode, seed, patch_grid))
        for name, m in maps.items()
        for p in protocols
        for mode in modes
    ]
    # images at a count already scored for the same (protocol fill, mode) would repeat: the start
    # points of deletion (the image) and insertion (the base) are shared by all maps.
    results: dict[tuple[str, str, str], Curve] = {}
    pending: list[tuple[tuple[str, str, str], CurveSpec]] = []
    buf: list[np.ndarray] = []

    def flush() -> None:
        if not buf:
            return
        probs = _score_unique(score, np.concatenate(buf))
        probs = probs[:, target_index] if probs.ndim == 2 else probs
        at = 0
        for key, spec in pending:
            k = len(spec.counts)
            results[key] = Curve(spec.mode, spec.protocol, spec.protocol.fractions(), probs[at : at + k])
            at += k
        pending.clear()
        buf.clear()

    n_buf = 0
    for name, p, mode, spec in jobs:
        imgs = curve_images(image, spec, seed)
        if n_buf and n_buf + len(imgs) > max_batch:
            flush()
            n_buf = 0
        buf.append(imgs)
        pending.append(((name, p.key, mode), spec))
        n_buf += len(imgs)
    flush()
    return results
