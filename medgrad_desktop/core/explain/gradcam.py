"""Grad-CAM on the last block's input, as in the Grad-ECLIP code (ALGORITHM.md §4)."""

from __future__ import annotations

import torch

from medgrad_desktop.core.explain.tail import ClassTokenTail
from medgrad_desktop.core.method_params import GradCAMParams


def gradcam_grids(
    tail: ClassTokenTail,
    x_in: torch.Tensor,
    qkv: tuple[torch.Tensor, torch.Tensor, torch.Tensor],
    g_res: torch.Tensor,
    g_o: torch.Tensor,
    params: GradCAMParams,
) -> torch.Tensor:
    """Raw maps (P, B, N-1) from the class-token tail's gradients (`ClassTokenTail.cls_tail_grads`)."""
    grads = tail.block_input_grads(x_in, qkv, g_res, g_o)  # (P, B, N, D)
    a = grads.mean(dim=2) if params.include_cls_in_mean else grads[:, :, 1:].mean(dim=2)  # (P, B, D)
    return torch.relu(torch.einsum("pbd,bnd->pbn", a, x_in[:, 1:]))
