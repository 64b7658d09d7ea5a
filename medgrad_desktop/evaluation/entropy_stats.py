"""Does local entropy concentrate inside the lesion? Pixel-level statistics of MedGrad's weight source.

MedGrad E-CLIP multiplies its map by local entropy, which helps only where the evidence is textured.
These numbers say how much of the entropy image falls on the lesion at all, at pixel level (before
the patch averaging), on the 224x224 model input and the lesion mask squashed to it.
"""

from __future__ import annotations

import cv2
import numpy as np

from medgrad_desktop.core.entropy import gray_bt601, local_entropy
from medgrad_desktop.evaluation.localization import auroc


def entropy_vs_mask(
    model_input: np.ndarray, lesion_mask: np.ndarray, radius: int = 5, top: float = 0.1
) -> dict:
    s = model_input.shape[0]
    m = cv2.resize(lesion_mask.astype(np.uint8), (s, s), interpolation=cv2.INTER_NEAREST).astype(bool)
    ent = local_entropy(gray_bt601(model_input), radius)
    if not m.any() or m.all():
        return {}
    thr = np.quantile(ent, 1 - top)
    hi = ent >= thr
    area = float(m.mean())
    return {
        "lesion_area_share": area,
        "mean_entropy_inside": float(ent[m].mean()),
        "mean_entropy_outside": float(ent[~m].mean()),
        "entropy_auroc": auroc(ent, m),
        "top10_share_inside": float((hi & m).sum() / hi.sum()),
        "top10_lift": float((hi & m).sum() / hi.sum()) / area,
        "energy_share_inside": float(ent[m].sum() / ent.sum()),
    }
