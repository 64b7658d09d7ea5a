"""Local Shannon entropy, MedGrad E-CLIP's spatial weight.

The weight does not depend on the text, so it is computed once per image and shared by all prompts.
"""

from __future__ import annotations

import cv2
import numpy as np
from PIL import Image
from skimage.filters.rank import entropy as rank_entropy
from skimage.morphology import disk

from medgrad_desktop.core.heatmap import minmax
from medgrad_desktop.core.method_params import MedGradParams

MAX_ORIGINAL_SIDE = 1024  # entropy on the original image is computed at most at this size
FLAT_ENTROPY_BITS = 1e-6  # an entropy field whose range is at most this is flat (see `_weight`)


def gray_bt601(rgb: np.ndarray) -> np.ndarray:
    """uint8 luma with ITU-R BT.601 weights (PIL's 'L' conversion)."""
    return np.array(Image.fromarray(rgb).convert("L"))


def local_entropy(gray: np.ndarray, radius: int) -> np.ndarray:
    """Entropy in bits of the grey-level histogram in a disk around each pixel; only in-image pixels
    count at the borders."""
    if gray.dtype != np.uint8:
        raise TypeError("local_entropy expects a uint8 image")
    return rank_entropy(gray, disk(int(radius))).astype(np.float32)


def prepare_gray(gray: np.ndarray, smooth: float = 0.0, levels: int = 256) -> np.ndarray:
    """The grey image the entropy counts: blurred with a Gaussian of sigma `smooth` px (OpenCV, kernel
    +-3 sigma, reflected borders, rounded back to uint8) and then quantised to `levels` equal bins of the
    0-255 range. Sensor noise moves a pixel by a few grey levels; blurring averages it out and coarser
    bins absorb it, so the entropy follows structure rather than noise. 0 and 256 leave the image as is."""
    if smooth > 0:
        gray = cv2.GaussianBlur(gray, (0, 0), sigmaX=float(smooth), borderType=cv2.BORDER_REFLECT_101)
    if levels < 256:
        gray = (gray.astype(np.uint16) * int(levels) // 256).astype(np.uint8)
    return gray


def patch_mean(values: np.ndarray, grid: tuple[int, int]) -> np.ndarray:
    """Mean of `values` over each cell of a grid that tiles the whole image."""
    gh, gw = grid
    h, w = values.shape
    if h % gh == 0 and w % gw == 0:
        return values.reshape(gh, h // gh, gw, w // gw).mean(axis=(1, 3)).astype(np.float32)
    return cv2.resize(values.astype(np.float32), (gw, gh), interpolation=cv2.INTER_AREA)


def entropy_image(
    model_input_rgb: np.ndarray,
    radius: int,
    source: str = "model_input",
    original_rgb: np.ndarray | None = None,
    smooth: float = 0.0,
    levels: int = 256,
) -> np.ndarray:
    """Local entropy of the model input, or of the original image (at most MAX_ORIGINAL_SIDE) with the
    disk and the blur (`prepare_gray`) scaled to cover the same fraction of the lesion."""
    if source == "original" and original_rgb is not None:
        img = original_rgb
        side = max(img.shape[:2])
        scale = min(1.0, MAX_ORIGINAL_SIDE / side)
        if scale < 1.0:
            img = np.asarray(
                Image.fromarray(img).resize(
                    (max(1, round(img.shape[1] * scale)), max(1, round(img.shape[0] * scale))),
                    Image.Resampling.BOX,
                )
            )
        scale_to_img = max(img.shape[:2]) / model_input_rgb.shape[0]
        r = max(1, round(radius * scale_to_img))
        return local_entropy(prepare_gray(gray_bt601(img), smooth * scale_to_img, levels), r)
    return local_entropy(prepare_gray(gray_bt601(model_input_rgb), smooth, levels), radius)


def _weight(values: np.ndarray, alpha: float) -> np.ndarray:
    """(1 - alpha) + alpha * minmax(values). A field without contrast is flat and scales to 1, not to
    min-max's usual 0: the weight is then 1 everywhere, neutral, so MedGrad equals the unweighted map
    instead of being scaled by (1 - alpha). Entropy is in bits; a range of at most `FLAT_ENTROPY_BITS`
    is float noise of a constant field (window histograms, area resizing), not texture."""
    return ((1.0 - alpha) + alpha * minmax(values, flat=1.0, flat_range=FLAT_ENTROPY_BITS)).astype(np.float32)


def entropy_weight(
    model_input_rgb: np.ndarray,
    grid: tuple[int, int],
    radius: int,
    alpha: float,
    source: str = "model_input",
    original_rgb: np.ndarray | None = None,
    smooth: float = 0.0,
    levels: int = 256,
) -> np.ndarray:
    """MedGrad's per-patch weight (gh, gw): (1 - alpha) + alpha * minmax(patch-mean local entropy).

    A constant entropy map gives weight 1 everywhere, so MedGrad then equals the unweighted map.
    """
    ent = entropy_image(model_input_rgb, radius, source, original_rgb, smooth, levels)
    return _weight(patch_mean(ent, grid), alpha)


def pixel_entropy_weight(
    model_input_rgb: np.ndarray,
    radius: int,
    alpha: float,
    source: str = "model_input",
    original_rgb: np.ndarray | None = None,
    smooth: float = 0.0,
    levels: int = 256,
) -> np.ndarray:
    """The same weight per pixel of the model input (S, S): the entropy field is not averaged over
    patches, so the weight can follow a structure finer than a 16-pixel token."""
    ent = entropy_image(model_input_rgb, radius, source, original_rgb, smooth, levels)
    h, w = model_input_rgb.shape[:2]
    if ent.shape != (h, w):
        ent = cv2.resize(ent, (w, h), interpolation=cv2.INTER_AREA)
    return _weight(ent, alpha)


def medgrad_weight(
    p: MedGradParams, model_input_rgb: np.ndarray, original_rgb: np.ndarray, grid: tuple[int, int] | None
) -> np.ndarray:
    """The entropy weight of MedGrad's settings `p` for one image: per patch of `grid` (gh, gw), or per
    pixel of the model input when `grid` is None. The one place that reads the weight's settings, so the
    engine, the attack and the evaluation weigh a map alike."""
    args = (p.entropy_radius, p.alpha, p.entropy_source, original_rgb, p.entropy_smooth, p.entropy_levels)
    if grid is None:
        return pixel_entropy_weight(model_input_rgb, *args)
    return entropy_weight(model_input_rgb, grid, *args)
