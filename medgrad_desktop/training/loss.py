"""Losses: CLIP's symmetric contrastive loss on image-caption pairs, plus optional prompt-bank terms.

Captions repeat (several lesions share a diagnosis and criteria). Rows whose captions are identical
are all positives, with the target mass shared equally, so the target states what is true (the caption
describes both images); with unique captions this is exactly CLIP's loss.

Under DDP the features of every rank are gathered with gradients (torch.distributed.nn), every rank
computes the loss of the global batch, and DDP's gradient averaging then yields exactly the gradient of
one process on the same global batch (the all-gather backward sums over ranks).
"""

from __future__ import annotations

import zlib

import torch
import torch.nn.functional as F


def caption_keys(captions: list[str], device: torch.device) -> torch.Tensor:
    return torch.tensor(
        [zlib.crc32(c.strip().lower().encode()) for c in captions], dtype=torch.long, device=device
    )


def gather(t: torch.Tensor, with_grad: bool) -> torch.Tensor:
    import torch.distributed as dist

    if not (dist.is_available() and dist.is_initialized()) or dist.get_world_size() == 1:
        return t
    if with_grad:
        import torch.distributed.nn.functional as dnf

        return torch.cat(dnf.all_gather(t), 0)
    parts = [torch.empty_like(t) for _ in range(dist.get_world_size())]
    dist.all_gather(parts, t)
    return torch.cat(parts, 0)


def contrastive_loss(
    img: torch.Tensor, txt: torch.Tensor, logit_scale: torch.Tensor, keys: torch.Tensor | None = None
) -> torch.Tensor:
    """Symmetric cross-entropy over the (B, B) similarity matrix of L2-normalized features."""
    logits = logit_scale * img @ txt.T
    if keys is None:
        target = torch.arange(img.shape[0], device=img.device)
        return 0.5 * (F.cross_entropy(logits, target) + F.cross_entropy(logits.T, target))
    same = (keys[:, None] == keys[None, :]).float()
    soft = same / same.sum(1, keepdim=True)
    return 0.5 * (F.cross_entropy(logits, soft) + F.cross_entropy(logits.T, soft))


def prompt_bank_loss(
    img: torch.Tensor,
    bank: torch.Tensor,
    logit_scale: torch.Tensor,
    target: torch.Tensor,
    weight: torch.Tensor | None = None,
) -> torch.Tensor:
    """Cross-entropy of image features against a bank of prompt embeddings (the classes, or one
    criterion's options): the same softmax the app uses to classify. `weight` (one per prompt) makes
    it the weighted mean, as `F.cross_entropy` defines it."""
    return F.cross_entropy(logit_scale * img @ bank.T, target, weight=weight)


def balanced_option_weights(counts: list[int]) -> list[float]:
    """Per-option weights n / (k * n_j) over the k options present (scikit-learn's "balanced"), 1.0 for
    an option never seen. Why: most images lack most criteria, so an unweighted loss is won by always
    answering "absent", which is what the demo model's criteria balanced accuracy measured; with these
    weights every option present counts as much in the loss as in a balanced accuracy."""
    n, k = sum(counts), sum(1 for c in counts if c)
    return [n / (k * c) if c else 1.0 for c in counts]


def phrase_rank_loss(
    sims: torch.Tensor, present: torch.Tensor, stated: torch.Tensor, logit_scale: torch.Tensor
) -> torch.Tensor:
    """Pairwise logistic loss on cos(image, wording of a finding) across the batch's images: for every
    finding, each image showing it should score above each image that states its absence. Why: the
    app's free-text map and `phrase_auroc` rank images (and regions) by that raw cosine, which the
    per-image softmax of the criteria loss never constrains (it cancels what all of an image's prompts
    share); this is the smooth form of 1 - AUROC. `sims`, `present`, `stated`: (B, F), the last two
    boolean; findings without both a positive and a negative image in the batch add nothing."""
    total, n = sims.new_zeros(()), 0
    for f in range(sims.shape[1]):
        pos = sims[present[:, f] & stated[:, f], f]
        neg = sims[~present[:, f] & stated[:, f], f]
        if len(pos) and len(neg):
            total = total + F.softplus(logit_scale * (neg[None, :] - pos[:, None])).mean()
            n += 1
    return total / max(1, n)
