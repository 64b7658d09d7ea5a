"""Grad-CAM on the last block's input, as in the Grad-ECLIP code (ALGORITHM.md §4)."""

from __future__ import annotations

import torch

from medgrad_desktop.core.explain.tail import ClassTokenTail
from medgrad_desktop.core.method_params import GradCAMParams


def gradcam_grids(
    tail: ClassTokenTail, x_in: torch.Tensor, text: torch.Tensor, params: GradCAMParams
) -> tuple[torch.Tensor, torch.Tensor]:
    """Raw maps (P, B, N-1) and the scores (B, P) they explain, from one batched VJP."""
    scores, grads = tail.batched_score_grads(tail.features_from_block_input, x_in, text)
    a = grads.mean(dim=2) if params.include_cls_in_mean else grads[:, :, 1:].mean(dim=2)  # (P, B, D)
    cam = torch.relu(torch.einsum("pbd,bnd->pbn", a, x_in[:, 1:]))
    return cam, scores
