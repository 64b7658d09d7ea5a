"""Training-time image pipeline: MedGrad's squash resize to the model input, random horizontal and
vertical flips and a rotation within +-15 degrees, optionally brightness and contrast, then the
checkpoint's normalization.

The squash resize is the same one `ClipModel.squash` applies at inference (PIL bicubic, no crop), so
the model is trained on exactly the geometry it is later explained on.
"""

from __future__ import annotations

import cv2
import numpy as np
import torch
from PIL import Image


def squash(rgb: np.ndarray, size: int) -> np.ndarray:
    if rgb.shape[0] == size and rgb.shape[1] == size:
        return rgb
    return np.array(Image.fromarray(rgb).resize((size, size), Image.Resampling.BICUBIC))


BRIGHTNESS = (0.6, 1.1)  # factor on every channel: down to a much darker skin, a little brighter
CONTRAST = (0.75, 1.25)  # factor on the distance from the image's mean grey


def photometric(rgb: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Brightness and contrast changed together on all three channels; hue and saturation are kept,
    because in dermoscopy colour is a finding (blue-grey, red, white), while how light the skin and the
    exposure are is not."""
    b = float(rng.uniform(*BRIGHTNESS))
    c = float(rng.uniform(*CONTRAST))
    x = rgb.astype(np.float32)
    mean = float(x.mean())
    return np.clip((mean + c * (x - mean)) * b, 0, 255).astype(np.uint8)


def augment(
    rgb: np.ndarray,
    rng: np.random.Generator,
    max_rotation: float = 15.0,
    flip: bool = True,
    photometric_p: float = 0.0,
) -> np.ndarray:
    """Flips and rotation, then (with probability `photometric_p`) `photometric`. With photometric_p 0
    no random number is drawn for it, so earlier runs stay reproducible."""
    out = rgb
    if flip and rng.random() < 0.5:
        out = out[:, ::-1]
    if flip and rng.random() < 0.5:
        out = out[::-1]
    if max_rotation > 0:
        angle = float(rng.uniform(-max_rotation, max_rotation))
        h, w = out.shape[:2]
        m = cv2.getRotationMatrix2D((w / 2, h / 2), angle, 1.0)
        out = cv2.warpAffine(
            np.ascontiguousarray(out), m, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT_101
        )
    if photometric_p > 0 and rng.random() < photometric_p:
        out = photometric(out, rng)
    return np.ascontiguousarray(out)


def to_tensor(rgb: np.ndarray, mean: tuple, std: tuple) -> torch.Tensor:
    t = torch.from_numpy(np.array(rgb, dtype=np.uint8, copy=True)).permute(2, 0, 1).float() / 255.0
    return (t - torch.tensor(mean).view(3, 1, 1)) / torch.tensor(std).view(3, 1, 1)
