"""The score that deletion and insertion track: the softmax probability of the target among its
competitors (the class prompts for a class, the criterion's options for a criterion option).

Probabilities use the model's own rule, softmax(logit_scale / temperature * cos), so a curve reads
the same number the app shows. Perturbed images are scored in batches for speed.
"""

from __future__ import annotations

import numpy as np
import torch

from medgrad_desktop.core.embedding import embed_images
from medgrad_desktop.core.model import ClipModel
from medgrad_desktop.core.prompts import Target


def competitors_for(clip: ClipModel, target: Target) -> tuple[list[Target], int]:
    """The prompts a target competes with in the softmax, and its index among them."""
    cat = clip.catalogue
    if target.kind == "criterion":
        crit_id = target.key.partition(":")[0]
        crit = next(c for c in cat.criteria if c.id == crit_id)
        opts = [cat.criterion_target(crit.id, o.id) for o in crit.options]
        return opts, [t.key for t in opts].index(target.key)
    classes = cat.class_targets()
    keys = [t.key for t in classes]
    if target.key in keys:
        return classes, keys.index(target.key)
    return [*classes, target], len(classes)  # free text competes with the classes


class CompetitorSoftmax:
    """Callable: uint8 images (N, S, S, 3) at the model's input size -> the softmax over the competing
    targets (N, P), i.e. p(target) for each competitor; counts the forwards it made."""

    def __init__(self, clip: ClipModel, competitors: list[Target], batch_size: int = 64):
        self.clip = clip
        self.text = clip.target_embeddings(competitors)
        self.scale = clip.logit_scale / max(clip.card.temperature, 1e-6)
        self.batch_size = batch_size
        self.forwards = 0

    @torch.no_grad()
    def __call__(self, images: np.ndarray) -> np.ndarray:
        clip = self.clip
        s = clip.input_size
        if images.ndim != 4 or images.shape[1:] != (s, s, 3) or images.dtype != np.uint8:
            raise ValueError(
                f"expected uint8 images of shape (N, {s}, {s}, 3), got {images.dtype} {images.shape}"
            )
        mean, std = clip.mean.to(clip.device), clip.std.to(clip.device)
        # (u / 255 - mean) / std as one multiply-add on the uint8 pixels: fewer full-size temporaries
        scale, shift = (1.0 / (255.0 * std)).reshape(1, 3, 1, 1), (-mean / std).reshape(1, 3, 1, 1)
        out = []
        for i in range(0, len(images), self.batch_size):
            chunk = torch.from_numpy(np.ascontiguousarray(images[i : i + self.batch_size])).to(clip.device)
            x = torch.addcmul(shift, chunk.permute(0, 3, 1, 2).float(), scale)
            f = embed_images(clip.model, x)
            out.append(torch.softmax(self.scale * f @ self.text.T, dim=-1).cpu().numpy())
            self.forwards += len(chunk)
        return np.concatenate(out).astype(np.float64) if out else np.zeros((0, len(self.text)))
