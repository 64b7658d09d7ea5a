"""The class-token tail of a ViT image tower, recomputed from the last block's own parameters.

Everything after the last attention that reaches the pooled image embedding acts on the class token
alone (ALGORITHM.md §5). So the gradient of every prompt's score needs only this small function, and
`torch.func.vmap` of one VJP gives all prompts' gradients at once instead of one backward per prompt.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

from medgrad_desktop.core.explain.hooks import last_block


class ClassTokenTail:
    def __init__(self, visual: nn.Module):
        self.visual = visual
        self.blk = last_block(visual)
        attn: nn.MultiheadAttention = self.blk.attn
        self.dim = attn.embed_dim
        self.heads = attn.num_heads
        w, b = attn.in_proj_weight, attn.in_proj_bias
        d = self.dim
        self.wq, self.wk, self.wv = w[:d], w[d : 2 * d], w[2 * d :]
        zeros = torch.zeros(d, dtype=w.dtype, device=w.device)
        self.bq, self.bk, self.bv = (
            (b[:d], b[d : 2 * d], b[2 * d :]) if b is not None else (zeros, zeros, zeros)
        )
        self.wo = attn.out_proj.weight
        self.bo = attn.out_proj.bias if attn.out_proj.bias is not None else zeros

    # --- pieces of the forward ---------------------------------------------------------------
    def project(self, x_ln: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        q = x_ln @ self.wq.T + self.bq
        k = x_ln @ self.wk.T + self.bk
        v = x_ln @ self.wv.T + self.bv
        return q, k, v

    def out_proj(self, z: torch.Tensor) -> torch.Tensor:
        return z @ self.wo.T + self.bo

    def cls_attention(self, x_in: torch.Tensor, single_head: bool = False) -> torch.Tensor:
        """Attention output (after out_proj) for the class-token query: (B, N, D) -> (B, D)."""
        x_ln = self.blk.ln_1(x_in)
        q, k, v = self.project(x_ln)
        q = q[:, 0]
        bsz, n, d = k.shape
        h = 1 if single_head else self.heads
        hd = d // h
        qh = q.reshape(bsz, h, hd)
        kh = k.reshape(bsz, n, h, hd).transpose(1, 2)
        vh = v.reshape(bsz, n, h, hd).transpose(1, 2)
        a = torch.softmax(torch.einsum("bhd,bhnd->bhn", qh, kh) * hd**-0.5, dim=-1)
        z = torch.einsum("bhn,bhnd->bhd", a, vh).reshape(bsz, d)
        return self.out_proj(z)

    def features_from_attn(self, x_in_cls: torch.Tensor, o_cls: torch.Tensor) -> torch.Tensor:
        """Normalized image embedding from the class token's attention output: (B, D) -> (B, E)."""
        blk, vis = self.blk, self.visual
        x = x_in_cls + blk.ls_1(o_cls)
        x = x + blk.ls_2(blk.mlp(blk.ln_2(x)))
        pooled = vis.ln_post(x)  # LayerNorm is per token: before or after pooling is the same here
        f = pooled @ vis.proj if vis.proj is not None else pooled
        return f / f.norm(dim=-1, keepdim=True)

    def features_from_block_input(self, x_in: torch.Tensor, single_head: bool = False) -> torch.Tensor:
        return self.features_from_attn(x_in[:, 0], self.cls_attention(x_in, single_head))

    # --- batched gradients -------------------------------------------------------------------
    @staticmethod
    def batched_score_grads(
        fn: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor, text: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Scores S[b, p] = <fn(x)[b], text[p]> and dS[:, p]/dx for all p, from one batched VJP.

        Returns (scores (B, P), grads (P, *x.shape)). Images of a batch are independent, so the
        gradient of sum_b S[b, p] w.r.t. x[b] is each image's own gradient.
        """
        with torch.enable_grad():
            feats, vjp_fn = torch.func.vjp(fn, x)
            scores = feats @ text.T
            cot = text[:, None, :].expand(text.shape[0], *feats.shape)
            (grads,) = torch.func.vmap(vjp_fn)(cot)
        return scores.detach(), grads.detach()
