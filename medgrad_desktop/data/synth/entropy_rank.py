"""Where the target ranks among the image's patches by local entropy.

MedGrad E-CLIP weights maps by local entropy; a benchmark whose targets were always the most textured
patch would reward that weight for free. The generator re-draws artefacts until the target is not the
entropy maximum (for most images) and records the rank.
"""

from __future__ import annotations

import numpy as np

from medgrad_desktop.core.entropy import gray_bt601, local_entropy, patch_mean


def target_entropy_rank(image: np.ndarray, target_mask: np.ndarray, radius: int = 5, grid: int = 14
                        ) -> tuple[int, float]:
    """Rank (0 = highest) of the best target patch among all patches by mean local entropy, and the
    entropy of that patch. A patch counts as target when >= 25 % of it is target mask (or, for sparse
    targets such as small globules, at least half the best-covered patch's share)."""
    ent = patch_mean(local_entropy(gray_bt601(image), radius), (grid, grid))
    cover = patch_mean(target_mask.astype(np.float32), (grid, grid))
    order = np.argsort(-ent, axis=None)
    flat_cover = cover.ravel()
    need = min(0.25, 0.5 * float(flat_cover.max()))
    if need <= 0:
        return len(order), 0.0
    for rank, idx in enumerate(order):
        if flat_cover[idx] >= need:
            return rank, float(ent.ravel()[idx])
    return len(order), 0.0
