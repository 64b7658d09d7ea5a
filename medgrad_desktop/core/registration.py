"""Rough registration of two photographs of one lesion taken at different visits: OpenCV ORB features,
cross-checked matches and a RANSAC similarity (scale, rotation, shift; no shear). Enough to line up a
follow-up image with the first one for side-by-side reading; when the photographs share too little
texture it returns no transform and says why, and the caller shows them unaligned."""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

MAX_SIDE = 800  # features are found on a copy this size: speed, and robust to sensor noise
MIN_INLIERS = 12
SCALE_RANGE = (0.25, 4.0)


@dataclass(frozen=True)
class Registration:
    matrix: np.ndarray  # 2x3, maps `moving` pixel coordinates onto `fixed`
    scale: float
    rotation_deg: float
    inliers: int

    def describe(self) -> str:
        return f"aligned: scale {self.scale:.2f}, rotation {self.rotation_deg:+.1f}\u00b0 ({self.inliers} matching points)"


def _small_grey(rgb: np.ndarray) -> tuple[np.ndarray, float]:
    f = min(1.0, MAX_SIDE / max(rgb.shape[:2]))
    grey = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
    if f < 1.0:
        grey = cv2.resize(grey, None, fx=f, fy=f, interpolation=cv2.INTER_AREA)
    return cv2.equalizeHist(grey), f


def register(fixed: np.ndarray, moving: np.ndarray) -> tuple[Registration | None, str]:
    """(transform, "") or (None, the reason in words)."""
    g1, f1 = _small_grey(fixed)
    g2, f2 = _small_grey(moving)
    orb = cv2.ORB_create(nfeatures=2000, fastThreshold=5)
    k1, d1 = orb.detectAndCompute(g1, None)
    k2, d2 = orb.detectAndCompute(g2, None)
    if d1 is None or d2 is None or len(k1) < MIN_INLIERS or len(k2) < MIN_INLIERS:
        return None, "not aligned: too few distinctive features in one of the images"
    matches = cv2.BFMatcher(cv2.NORM_HAMMING, crossCheck=True).match(d2, d1)
    if len(matches) < MIN_INLIERS:
        return None, f"not aligned: only {len(matches)} matching features"
    src = np.float32([k2[m.queryIdx].pt for m in matches]) / f2
    dst = np.float32([k1[m.trainIdx].pt for m in matches]) / f1
    matrix, inl = cv2.estimateAffinePartial2D(
        src, dst, method=cv2.RANSAC, ransacReprojThreshold=4.0 / f1, maxIters=4000, confidence=0.995
    )
    inliers = int(inl.sum()) if inl is not None else 0
    if matrix is None or inliers < MIN_INLIERS:
        return None, f"not aligned: the matches agree on no single scale and rotation ({inliers} consistent)"
    scale = math.hypot(matrix[0, 0], matrix[1, 0])
    if not SCALE_RANGE[0] <= scale <= SCALE_RANGE[1]:
        return None, f"not aligned: implausible scale {scale:.2f}"
    rotation = math.degrees(math.atan2(matrix[1, 0], matrix[0, 0]))
    return Registration(matrix.astype(np.float64), scale, rotation, inliers), ""


def warp_onto(moving: np.ndarray, reg: Registration, size: tuple[int, int]) -> np.ndarray:
    """`moving` resampled into the fixed image's frame (`size` = its width, height); outside is white."""
    return cv2.warpAffine(
        moving,
        reg.matrix,
        size,
        flags=cv2.INTER_LINEAR,
        borderMode=cv2.BORDER_CONSTANT,
        borderValue=(255, 255, 255),
    )
