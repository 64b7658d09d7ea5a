"""Heatmap colouring and blending without Qt, shared by the CLI, the reports and the app's overlay."""

from __future__ import annotations

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


def blend(
    rgb: np.ndarray, values: np.ndarray, opacity: float = 0.5, colormap: str = DEFAULT_COLORMAP
) -> np.ndarray:
    if values.shape != rgb.shape[:2]:
        values = cv2.resize(
            values.astype(np.float32), (rgb.shape[1], rgb.shape[0]), interpolation=cv2.INTER_LINEAR
        )
    heat = colorize(values, colormap).astype(np.float32)
    out = (1.0 - opacity) * rgb.astype(np.float32) + opacity * heat
    return np.clip(out + 0.5, 0, 255).astype(np.uint8)


def contour_mask(values: np.ndarray, percentile: float) -> np.ndarray:
    """Boolean outline of the region above the given percentile of the map."""
    thr = np.percentile(values, percentile)
    region = (values >= thr).astype(np.uint8)
    edges = cv2.morphologyEx(region, cv2.MORPH_GRADIENT, np.ones((3, 3), np.uint8))
    return edges.astype(bool)


def colorbar(height: int, width: int = 24, colormap: str = DEFAULT_COLORMAP) -> np.ndarray:
    """A vertical colour bar, high values on top."""
    ramp = np.linspace(1.0, 0.0, height, dtype=np.float32)[:, None].repeat(width, axis=1)
    return colorize(ramp, colormap)


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
