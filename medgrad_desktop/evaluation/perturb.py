"""Harmless changes of a model-input photo, each at a stated strength and deterministic from a seed.

Every perturbation acts on the uint8 RGB image the model sees (S x S) and returns the changed image
and, for geometric ones, the affine matrix that carries the original frame to the new one, so a map of
the changed image can be mapped back before it is compared with the original's. Strengths are within
what a dermatoscope or a re-save produces; none is meant to change what a reader sees.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass

import cv2
import numpy as np
from PIL import Image

from medgrad_desktop.data.synth.artefacts import draw_artefact

ARTEFACT_KINDS = ("hairs", "ruler", "bubbles")  # the generator's artefacts a photo can gain
ARTEFACT_MASK_ALPHA = 0.1  # a pixel belongs to the artefact where its drawn alpha exceeds this
ARTEFACT_MASK_LEVELS = 8  # or where drawing it changed the pixel by more than this (of 255)


@dataclass(frozen=True)
class Perturbation:
    """One kind at one strength. `stochastic` ones are drawn several times per image (max-sensitivity
    takes the worst draw); the others give one image per seed."""

    kind: str
    strength: float
    stochastic: bool = False

    @property
    def key(self) -> str:
        return f"{self.kind}@{self.strength:g}"

    def describe(self) -> str:
        return DESCRIPTIONS[self.kind].format(s=self.strength)


Warp = np.ndarray  # 2x3 affine matrix, original frame -> perturbed frame


def _noise(img: np.ndarray | float, noise: np.ndarray) -> np.ndarray:
    """img + noise, rounded and clipped to uint8 (img may be a scalar base level)."""
    return np.clip(np.rint(np.asarray(img, np.float32) + noise), 0, 255).astype(np.uint8)


def gaussian_noise(img: np.ndarray, sigma_255: float, rng: np.random.Generator) -> np.ndarray:
    """Sensor noise: i.i.d. N(0, sigma) per pixel and channel, sigma in grey levels of 255."""
    return _noise(img, rng.normal(0.0, sigma_255, img.shape).astype(np.float32))


def uniform_noise(img: np.ndarray, half_width_255: float, rng: np.random.Generator) -> np.ndarray:
    """i.i.d. U(-w, w) per pixel and channel (w in grey levels): the L-inf size is w after rounding."""
    return _noise(img, rng.uniform(-half_width_255, half_width_255, img.shape).astype(np.float32))


def jpeg(img: np.ndarray, quality: float) -> np.ndarray:
    """Re-encoded as JPEG at `quality` (PIL, 4:2:0 subsampling) and decoded."""
    buf = io.BytesIO()
    Image.fromarray(img).save(buf, format="JPEG", quality=int(quality))
    return np.array(Image.open(io.BytesIO(buf.getvalue())).convert("RGB"))


def brightness(img: np.ndarray, fraction: float, rng: np.random.Generator) -> np.ndarray:
    """Every channel shifted by +-fraction of full scale (the sign drawn from the seed)."""
    sign = 1.0 if rng.random() < 0.5 else -1.0
    return _noise(img, np.full(img.shape, sign * fraction * 255.0, np.float32))


def contrast(img: np.ndarray, fraction: float, rng: np.random.Generator) -> np.ndarray:
    """Contrast scaled by 1 +- fraction about the image's mean grey level (sign from the seed)."""
    sign = 1.0 if rng.random() < 0.5 else -1.0
    x = img.astype(np.float32)
    mean = float(x.mean())
    return _noise(mean, (x - mean) * (1.0 + sign * fraction))


def white_balance(img: np.ndarray, fraction: float, rng: np.random.Generator) -> np.ndarray:
    """Each channel's gain drawn in [1 - fraction, 1 + fraction], then scaled so the largest gain's
    distance from 1 is exactly `fraction`: the stated strength is reached every time."""
    g = rng.uniform(-1.0, 1.0, 3)
    g = 1.0 + fraction * g / np.abs(g).max()
    return _noise(0.0, img.astype(np.float32) * g[None, None, :].astype(np.float32))


def shift_rotate(img: np.ndarray, strength: float, rng: np.random.Generator) -> tuple[np.ndarray, Warp]:
    """A shift of `strength` % of the side in a seeded direction and a rotation of `strength` degrees
    (seeded sign) about the centre; borders reflected, as a re-framed photo continues the skin."""
    s = img.shape[0]
    ang = strength * (1.0 if rng.random() < 0.5 else -1.0)
    theta = rng.uniform(0, 2 * np.pi)
    shift = strength / 100.0 * s
    m = cv2.getRotationMatrix2D((s / 2.0, s / 2.0), ang, 1.0)
    m[:, 2] += (shift * np.cos(theta), shift * np.sin(theta))
    out = cv2.warpAffine(img, m, (s, s), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT_101)
    return out, m


def map_back(map_s: np.ndarray, warp: Warp | None) -> np.ndarray:
    """A map of the perturbed image (S x S) carried back to the original frame (nearest edge value
    outside)."""
    if warp is None:
        return map_s
    s = map_s.shape[0]
    inv = cv2.invertAffineTransform(warp)
    return cv2.warpAffine(
        map_s.astype(np.float32), inv, (s, s), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE
    )


def insert_artefact(img: np.ndarray, kind: str, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """The generator's artefact `kind` drawn into a copy of the image; returns it and the artefact's
    mask: where the drawn alpha exceeds ARTEFACT_MASK_ALPHA or the drawing changed a pixel by more than
    ARTEFACT_MASK_LEVELS grey levels (anti-aliased rims reach past the generator's alpha)."""
    out = img.astype(np.float32)
    alpha = draw_artefact(kind, rng, out, 1.0)
    new = np.clip(np.rint(out), 0, 255).astype(np.uint8)
    changed = np.abs(new.astype(np.int16) - img).max(axis=2) > ARTEFACT_MASK_LEVELS
    return new, (alpha > ARTEFACT_MASK_ALPHA) | changed


_APPLY: dict[str, Callable[[np.ndarray, float, np.random.Generator], np.ndarray]] = {
    "gaussian": gaussian_noise,
    "uniform": uniform_noise,
    "jpeg": lambda img, q, _rng: jpeg(img, q),
    "brightness": brightness,
    "contrast": contrast,
    "white_balance": white_balance,
}

DESCRIPTIONS = {
    "gaussian": "Gaussian noise, sigma {s:g}/255 per pixel and channel",
    "uniform": "uniform noise in [-{s:g}, {s:g}]/255 per pixel and channel",
    "jpeg": "JPEG re-encoding at quality {s:g}",
    "brightness": "brightness shift of +-{s:g} of full scale",
    "contrast": "contrast x (1 +- {s:g}) about the mean",
    "white_balance": "channel gains within 1 +- {s:g} (largest exactly)",
    "shift_rotate": "shift of {s:g} % of the side and rotation of {s:g} degrees, mapped back",
}


def apply(p: Perturbation, img: np.ndarray, seed: int) -> tuple[np.ndarray, Warp | None]:
    """The perturbed image and its warp (None unless geometric), the same for the same seed."""
    rng = np.random.default_rng(seed)
    if p.kind == "shift_rotate":
        return shift_rotate(img, p.strength, rng)
    if p.kind not in _APPLY:
        raise ValueError(f"unknown perturbation '{p.kind}'; known: {', '.join(DESCRIPTIONS)}")
    return _APPLY[p.kind](img, p.strength, rng), None


DEFAULT_PERTURBATIONS: tuple[Perturbation, ...] = (
    Perturbation("uniform", 2, True),
    Perturbation("uniform", 5, True),
    Perturbation("uniform", 8, True),
    Perturbation("gaussian", 2, True),
    Perturbation("gaussian", 5, True),
    Perturbation("gaussian", 8, True),
    Perturbation("jpeg", 90),
    Perturbation("jpeg", 70),
    Perturbation("brightness", 0.04),
    Perturbation("brightness", 0.08),
    Perturbation("contrast", 0.08),
    Perturbation("contrast", 0.15),
    Perturbation("white_balance", 0.04),
    Perturbation("white_balance", 0.08),
    Perturbation("shift_rotate", 2),
    Perturbation("shift_rotate", 4),
)
