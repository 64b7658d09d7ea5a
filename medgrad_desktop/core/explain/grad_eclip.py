"""Grad-ECLIP (ALGORITHM.md §2) and the pieces MedGrad E-CLIP shares with it (§3)."""

from __future__ import annotations

import torch

from medgrad_desktop.core.explain.tail import ClassTokenTail


def tail_grads(
    tail: ClassTokenTail,
    x_in: torch.Tensor,
    attn_out_cls: torch.Tensor,
    text: torch.Tensor,
    single_head: bool,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Scores (B, P) and the class-token gradients at the residual input and at the attention output
    (each (P, B, D)) for all prompts: Grad-ECLIP and MedGrad use the second, Grad-CAM both.

    With `single_head` the class-token attention is recomputed as one head with scale D^-1/2, as the
    official Grad-ECLIP code does; the score is then that modified model's.
    """
    o = tail.cls_attention(x_in, single_head=True) if single_head else attn_out_cls
    return tail.cls_tail_grads(x_in[:, 0], o, text)


def loosened_attention(
    tail: ClassTokenTail, q: torch.Tensor, k: torch.Tensor, qk_space: str, eps: float
) -> torch.Tensor:
    """s_i = minmax_i cos(q_cls, k_i) over the patches: (B, N-1). No softmax, full-width cosine.

    q, k: (B, N, D) from `tail.project`, computed once per image batch and shared by every method.
    """
    if qk_space == "out_proj":
        q, k = tail.out_proj(q), tail.out_proj(k)
    s = torch.nn.functional.cosine_similarity(q[:, :1], k[:, 1:], dim=-1)
    lo = s.min(dim=1, keepdim=True).values
    hi = s.max(dim=1, keepdim=True).values
    return (s - lo) / (hi - lo + eps)


def eclip_grids(w: torch.Tensor, v: torch.Tensor, spatial: torch.Tensor | None) -> torch.Tensor:
    """ReLU(s_i * sum_c w_c v_ic) for all prompts at once: (P, B, N-1)."""
    vs = v if spatial is None else v * spatial[..., None]
    return torch.relu(torch.einsum("pbd,bnd->pbn", w, vs))
