"""Follow-up registration: a known scale and rotation is recovered; a flat image gives no transform."""

from __future__ import annotations

import cv2
import numpy as np

from medgrad_desktop.core.registration import register, warp_onto
from medgrad_desktop.testing.sample_images import draw_blob_image


def test_recovers_scale_and_rotation():
    fixed = np.asarray(draw_blob_image(3, (480, 360)).convert("RGB"))
    fixed = np.clip(
        fixed.astype(int) + np.random.default_rng(0).integers(-25, 25, fixed.shape), 0, 255
    ).astype(np.uint8)
    centre = (240, 180)
    m = cv2.getRotationMatrix2D(centre, 20, 1.25)
    moving = cv2.warpAffine(fixed, m, (480, 360), borderMode=cv2.BORDER_REFLECT)
    reg, why = register(fixed, moving)
    assert reg is not None, why
    assert (
        abs(reg.scale - 1 / 1.25) < 0.05 and abs(reg.rotation_deg - 20) < 3
    )  # undoes the rotation (y axis down)
    back = warp_onto(moving, reg, (480, 360))
    inner = (slice(120, 240), slice(160, 320))
    assert np.abs(back[inner].astype(int) - fixed[inner].astype(int)).mean() < 25


def test_flat_images_are_not_aligned():
    flat = np.full((200, 200, 3), 180, np.uint8)
    reg, why = register(flat, flat)
    assert reg is None and why.startswith("not aligned")
