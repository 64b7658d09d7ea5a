"""Maps that know nothing of the model. A method that does not beat them is not explaining the model.

All baselines are made on the same 14x14 grid as the methods (and then upsampled the same way), so
resolution gives none of them an advantage:
- random: i.i.d. uniform per cell (seeded per image);
- centre: an isotropic Gaussian at the image centre, sigma = 1/4 of the side;
- sobel: patch mean of the Sobel gradient magnitude of the grey model input;
- entropy: MedGrad's weight by itself (patch-mean local entropy, radius 5 px, min-max);
- lesion: the patch mean of a lesion mask, where a lesion mask is known (a prior, not a baseline a
  model could produce; it shows how far "point at the lesion" gets).
"""

from __future__ import annotations

import cv2
import numpy as np

from medgrad_desktop.core.entropy import entropy_weight, gray_bt601, patch_mean

BASELINES = ("random", "centre", "sobel", "entropy", "lesion")
BASELINE_NAMES = {
    "random": "Random",
    "centre": "Centre Gaussian",
    "sobel": "Sobel edges",
    "entropy": "Local entropy",
    "lesion": "Lesion-mask prior",
}


def random_map(grid: tuple[int, int], seed: int) -> np.ndarray:
    return np.random.default_rng(seed).random(grid).astype(np.float32)


def centre_map(grid: tuple[int, int], sigma_frac: float = 0.25) -> np.ndarray:
    gh, gw = grid
    y = (np.arange(gh) + 0.5) / gh - 0.5
    x = (np.arange(gw) + 0.5) / gw - 0.5
    d2 = y[:, None] ** 2 + x[None, :] ** 2
    return np.exp(-d2 / (2 * sigma_frac**2)).astype(np.float32)


def sobel_map(rgb: np.ndarray, grid: tuple[int, int]) -> np.ndarray:
    g = gray_bt601(rgb).astype(np.float32)
    mag = np.hypot(cv2.Sobel(g, cv2.CV_32F, 1, 0, ksize=3), cv2.Sobel(g, cv2.CV_32F, 0, 1, ksize=3))
    return patch_mean(mag, grid)


def entropy_map(rgb: np.ndarray, grid: tuple[int, int], radius: int = 5) -> np.ndarray:
    return entropy_weight(rgb, grid, radius, 1.0)


def lesion_map(mask: np.ndarray, grid: tuple[int, int]) -> np.ndarray:
    return patch_mean(np.asarray(mask, dtype=np.float32), grid)


def baseline_maps(
    rgb: np.ndarray, grid: tuple[int, int], seed: int, lesion_mask: np.ndarray | None = None
) -> dict[str, np.ndarray]:
    """All baselines for one model-input image (S, S, 3); `lesion` only when a mask is given."""
    out = {
        "random": random_map(grid, seed),
        "centre": centre_map(grid),
        "sobel": sobel_map(rgb, grid),
        "entropy": entropy_map(rgb, grid),
    }
    if lesion_mask is not None:
        m = np.asarray(lesion_mask, dtype=np.float32)
        if m.shape != rgb.shape[:2]:
            m = cv2.resize(m, (rgb.shape[1], rgb.shape[0]), interpolation=cv2.INTER_AREA)
        out["lesion"] = lesion_map(m, grid)
    return out
