"""Heatmap colouring and blending without Qt, shared by the CLI, the reports and the app's overlay.

One rule says how much colour each pixel gets (`OverlayAlpha`): `overlay_rgba` puts it in the alpha
channel of the app's overlay (which Qt draws at the opacity of the slider) and `blend` composes the same
for the CLI and the reports, so a map looks the same wherever it is shown.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import cv2
import numpy as np

COLORMAPS = {
    "inferno": cv2.COLORMAP_INFERNO,
    "viridis": cv2.COLORMAP_VIRIDIS,
    "magma": cv2.COLORMAP_MAGMA,
    "turbo": cv2.COLORMAP_TURBO,
    "jet": cv2.COLORMAP_JET,
}
DEFAULT_COLORMAP = "inferno"


def colorize(values: np.ndarray, colormap: str = DEFAULT_COLORMAP) -> np.ndarray:
    """(H, W) floats in [0, 1] -> (H, W, 3) uint8 RGB."""
    u8 = np.clip(np.nan_to_num(values) * 255.0 + 0.5, 0, 255).astype(np.uint8)
    bgr = cv2.applyColorMap(u8, COLORMAPS[colormap])
    return bgr[:, :, ::-1].copy()


@dataclass(frozen=True)
class OverlayAlpha:
    """How much of the map's colour each pixel gets: alpha = opacity x f(relevance), f rising linearly
    from 0 at `low` to 1 at `high` (normalized relevance), so the lesion's own colour shows where the
    map is low, as napari's and QuPath's colormaps with transparency draw it. `uniform` is the plain
    blend: f = 1 everywhere, the whole image tinted at the opacity."""

    name: str
    low: float = 0.0
    high: float = 1.0
    uniform: bool = False

    def weights(self, values: np.ndarray) -> np.ndarray:
        """f(values) in [0, 1], float32, the shape of `values`."""
        v = np.nan_to_num(np.asarray(values, dtype=np.float32))
        if self.uniform:
            return np.ones_like(v)
        return np.clip((v - self.low) / max(self.high - self.low, 1e-6), 0.0, 1.0).astype(np.float32)

    def describe(self) -> str:
        """In words, for a report's cover and the app's tooltip."""
        if self.uniform:
            return "uniform (the same opacity everywhere)"
        return f"following relevance (transparent up to {self.low:g}, full from {self.high:g})"

    def to_dict(self) -> dict:
        return asdict(self)


# the candidates looked at on the demo and HAM images (docs/EXPLANATIONS.md, "How a map is drawn")
OVERLAY_ALPHAS = {
    "ramp": OverlayAlpha("ramp", low=0.2, high=0.6),
    "linear": OverlayAlpha("linear"),
    "uniform": OverlayAlpha("uniform", uniform=True),
}
DEFAULT_OVERLAY_ALPHA = "ramp"


def overlay_alpha(name: str) -> OverlayAlpha:
    """The named curve; ValueError naming the choices for an unknown name."""
    try:
        return OVERLAY_ALPHAS[name]
    except KeyError:
        raise ValueError(
            f"unknown overlay alpha '{name}'; choose one of {', '.join(OVERLAY_ALPHAS)}"
        ) from None


def overlay_rgba(
    values: np.ndarray, colormap: str = DEFAULT_COLORMAP, alpha: str = DEFAULT_OVERLAY_ALPHA
) -> np.ndarray:
    """(H, W) floats in [0, 1] -> (H, W, 4) uint8: the colour, and f(relevance) as alpha (before the
    opacity, which the viewer or `blend` applies)."""
    rgb = colorize(values, colormap)
    a = np.clip(overlay_alpha(alpha).weights(values) * 255.0 + 0.5, 0, 255).astype(np.uint8)
    return np.dstack([rgb, a])


def blend(
    rgb: np.ndarray,
    values: np.ndarray,
    opacity: float = 0.5,
    colormap: str = DEFAULT_COLORMAP,
    alpha: str = DEFAULT_OVERLAY_ALPHA,
) -> np.ndarray:
    """The image with the map over it: per pixel, opacity x f(relevance) of the map's colour (the alpha
    of `overlay_rgba`, as the viewer draws it). `values` is resized to the image (bilinear)."""
    if values.shape != rgb.shape[:2]:
        values = cv2.resize(
            values.astype(np.float32), (rgb.shape[1], rgb.shape[0]), interpolation=cv2.INTER_LINEAR
        )
    over = overlay_rgba(values, colormap, alpha)
    heat = over[..., :3].astype(np.float32)
    if overlay_alpha(alpha).uniform:  # one weight for every pixel: the plain blend, to the last bit
        a: float | np.ndarray = opacity
    else:
        a = opacity * (over[..., 3:].astype(np.float32) / 255.0)
    out = (1.0 - a) * rgb.astype(np.float32) + a * heat
    return np.clip(out + 0.5, 0, 255).astype(np.uint8)


def contour_mask(values: np.ndarray, percentile: float) -> np.ndarray:
    """Boolean outline of the region above the given percentile of the map."""
    thr = np.percentile(values, percentile)
    region = (values >= thr).astype(np.uint8)
    edges = cv2.morphologyEx(region, cv2.MORPH_GRADIENT, np.ones((3, 3), np.uint8))
    return edges.astype(bool)


def colorbar(
    height: int, width: int = 24, colormap: str = DEFAULT_COLORMAP, alpha: str = "uniform"
) -> np.ndarray:
    """A vertical colour bar, high values on top. With an `alpha` that follows relevance the colour
    fades into a light checkerboard (the usual sign of transparency) where the overlay fades into the
    image, so the bar's low end is not read as black paint."""
    ramp = np.linspace(1.0, 0.0, height, dtype=np.float32)[:, None].repeat(width, axis=1)
    rgb = colorize(ramp, colormap)
    curve = overlay_alpha(alpha)
    if curve.uniform:
        return rgb
    yy, xx = np.mgrid[0:height, 0:width]
    square = max(2, width // 4)
    checker = np.where((yy // square + xx // square) % 2 == 0, 238, 204).astype(np.float32)[..., None]
    w = curve.weights(ramp)[..., None]
    return np.clip(w * rgb + (1.0 - w) * checker + 0.5, 0, 255).astype(np.uint8)


def stamp(rgb: np.ndarray, text: str) -> np.ndarray:
    """Burn a warning banner (e.g. UNTRAINED) into the top of an exported image, so the picture
    cannot travel without it."""
    out = rgb.copy()
    h, w = out.shape[:2]
    scale = max(0.35, min(w, h) / 900)
    thick = max(1, int(round(scale * 2)))
    (tw, th), base = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, scale, thick)
    bar = min(h, th + base + 8)
    out[:bar] = (out[:bar].astype(np.float32) * 0.3).astype(np.uint8)
    cv2.putText(
        out, text, (4, min(h - 1, th + 4)), cv2.FONT_HERSHEY_SIMPLEX, scale, (255, 220, 0), thick, cv2.LINE_AA
    )
    return out
