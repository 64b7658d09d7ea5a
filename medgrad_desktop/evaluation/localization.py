"""Localization scores of a map against a ground-truth mask, all at the mask's resolution.

- pointing game (Zhang et al.): is the map's maximum within `tolerance_px` of the mask? With tied
  maxima the score is the share of tied maxima that hit (the expectation under random tie-breaking),
  so a constant map scores the dilated mask's area share, not an arbitrary 0 or 1;
- energy pointing game (Score-CAM): share of the map's mass inside the mask, and its lift: that share
  divided by the mask's area share (1 = no better than a uniform map);
- IoU and Dice of the map thresholded at `threshold` of its maximum (a stated, fixed rule);
- AUROC of the map's values as a pixel classifier of the mask (ties count one half);
- mass share on any other mask (decoys, artefacts): lower is better.
"""

from __future__ import annotations

import cv2
import numpy as np

from medgrad_desktop.core.auroc import auroc as pixel_auroc

POINTING_TOLERANCE_PX = 15
IOU_THRESHOLD = 0.5  # of the map's maximum


def to_mask_size(map_: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """Bilinear resize of a grid or map to (H, W), as the app upsamples its maps."""
    m = np.asarray(map_, dtype=np.float32)
    if m.shape == tuple(shape):
        return m
    return cv2.resize(m, (shape[1], shape[0]), interpolation=cv2.INTER_LINEAR)


def _check(map_: np.ndarray, mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    mask = np.asarray(mask).astype(bool)
    if mask.ndim != 2:
        raise ValueError(f"a mask must be 2-D, got shape {mask.shape}")
    m = to_mask_size(map_, mask.shape)
    return np.maximum(m, 0.0), mask


def dilate(mask: np.ndarray, radius_px: int) -> np.ndarray:
    if radius_px <= 0:
        return mask.astype(bool)
    dist = cv2.distanceTransform((~mask.astype(bool)).astype(np.uint8), cv2.DIST_L2, 5)
    return dist <= radius_px


def pointing_game(map_: np.ndarray, mask: np.ndarray, tolerance_px: int = POINTING_TOLERANCE_PX) -> float:
    """1 if the map's maximum lies within tolerance of the mask, 0 if not; NaN for an empty mask."""
    m, mask = _check(map_, mask)
    if not mask.any():
        return float("nan")
    peak = m >= m.max() - 1e-7 * max(1.0, float(m.max()))
    return float(dilate(mask, tolerance_px)[peak].mean())


def energy_share(map_: np.ndarray, mask: np.ndarray) -> float:
    """Share of the map's (non-negative) mass inside the mask; an all-zero map counts as uniform."""
    m, mask = _check(map_, mask)
    total = float(m.sum())
    if total <= 0:
        return float(mask.mean())
    return float(m[mask].sum() / total)


def energy_pointing_game(map_: np.ndarray, mask: np.ndarray) -> tuple[float, float]:
    """(energy share, lift = share / mask area share); NaN for an empty mask."""
    mask = np.asarray(mask).astype(bool)
    area = float(mask.mean())
    if area == 0:
        return float("nan"), float("nan")
    e = energy_share(map_, mask)
    return e, e / area


def iou_dice(map_: np.ndarray, mask: np.ndarray, threshold: float = IOU_THRESHOLD) -> tuple[float, float]:
    m, mask = _check(map_, mask)
    if not mask.any():
        return float("nan"), float("nan")
    hi = float(m.max())
    pred = m >= threshold * hi if hi > 0 else np.zeros_like(mask)
    inter = float((pred & mask).sum())
    union = float((pred | mask).sum())
    total = float(pred.sum() + mask.sum())
    return inter / union if union else 0.0, 2 * inter / total if total else 0.0


def auroc(map_: np.ndarray, mask: np.ndarray) -> float:
    """Probability that a random mask pixel outranks a random background pixel (`core.auroc`: ties
    count one half; NaN for an empty or full mask), of the map clipped at 0 at the mask's size."""
    m, mask = _check(map_, mask)
    return pixel_auroc(m, mask)


def localization_scores(
    map_: np.ndarray,
    mask: np.ndarray,
    tolerance_px: int = POINTING_TOLERANCE_PX,
    threshold: float = IOU_THRESHOLD,
) -> dict[str, float]:
    mask = np.asarray(mask).astype(bool)
    e, lift = energy_pointing_game(map_, mask)
    iou, dice = iou_dice(map_, mask, threshold)
    return {
        "pointing": pointing_game(map_, mask, tolerance_px),
        "energy": e,
        "energy_lift": lift,
        "iou": iou,
        "dice": dice,
        "auroc": auroc(map_, mask),
        "area_share": float(mask.mean()),
    }


LOCALIZATION_PROTOCOL = {
    "resolution": "ground-truth mask resolution; maps upsampled bilinearly from their grid",
    "pointing_tolerance_px": POINTING_TOLERANCE_PX,
    "pointing_ties": "share of tied maxima inside the dilated mask",
    "energy": "sum(map * mask) / sum(map), map clipped at 0; lift = energy / mask area share",
    "iou_threshold": f"map >= {IOU_THRESHOLD} x its maximum",
    "auroc": "Mann-Whitney, ties count one half",
}
