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

    @staticmethod
    def cls_query_attention(
        q: torch.Tensor, k: torch.Tensor, heads: int
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """The class-token query per head (B, H, hd), the keys per head (B, N, H, hd) and the class
        token's attention weights (B, H, N): shared by the forward below and the hand-written backward."""
        bsz, n, d = k.shape
        hd = d // heads
        qh = q[:, 0].reshape(bsz, heads, hd)
        kh = k.reshape(bsz, n, heads, hd)
        att = torch.softmax(torch.einsum("bhe,bnhe->bhn", qh, kh) * hd**-0.5, dim=-1)
        return qh, kh, att

    def cls_attention(self, x_in: torch.Tensor, single_head: bool = False) -> torch.Tensor:
        """Attention output (after out_proj) for the class-token query: (B, N, D) -> (B, D)."""
        q, k, v = self.project(self.blk.ln_1(x_in))
        h = 1 if single_head else self.heads
        _, _, att = self.cls_query_attention(q, k, h)
        bsz, n, d = v.shape
        z = torch.einsum("bhn,bnhe->bhe", att, v.reshape(bsz, n, h, d // h)).reshape(bsz, d)
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
        fn: Callable[..., torch.Tensor], primals: tuple[torch.Tensor, ...], text: torch.Tensor
    ) -> tuple[torch.Tensor, tuple[torch.Tensor, ...]]:
        """Scores S[b, p] = <fn(*primals)[b], text[p]> and dS[:, p]/d(each primal) for all p, from one
        batched VJP.

        Returns (scores (B, P), one gradient (P, *primal.shape) per primal). Images of a batch are
        independent, so the gradient of sum_b S[b, p] w.r.t. a primal's row b is each image's own.
        """
        with torch.enable_grad():
            feats, vjp_fn = torch.func.vjp(fn, *primals)
            scores = feats @ text.T
            cot = text[:, None, :].expand(text.shape[0], *feats.shape)
            grads = torch.func.vmap(vjp_fn)(cot)
        return scores.detach(), tuple(g.detach() for g in grads)

    def cls_tail_grads(
        self, x_in_cls: torch.Tensor, o_cls: torch.Tensor, text: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Scores (B, P) and, for all prompts, the score's gradient at the class token's residual input
        (P, B, D) and at its attention output after out_proj (P, B, D): all that the last block's tail
        contributes to any method's gradient."""
        scores, (g_res, g_o) = self.batched_score_grads(self.features_from_attn, (x_in_cls, o_cls), text)
        return scores, g_res, g_o

    def block_input_grads(
        self,
        x_in: torch.Tensor,
        qkv: tuple[torch.Tensor, torch.Tensor, torch.Tensor],
        g_res: torch.Tensor,
        g_o: torch.Tensor,
    ) -> torch.Tensor:
        """dS/dx_in for every token and prompt (P, B, N, D), pulled back through the class-token query's
        attention by hand instead of by autograd.

        Why by hand: autograd multiplies each prompt's gradient of k and v (N x D) by the D x D
        projection matrices, P times the cost of projecting k and v. Here the gradient of every key and
        value of a head is that head's attention weight (or its score gradient) times one vector per
        prompt, so the D x D products are taken once per head and prompt (N times fewer); the same sums,
        in another order (tests hold it to the autograd reference). ln_1's backward stays with autograd.
        """
        q, k, v = qkv
        bsz, n, d = k.shape
        h = self.heads
        hd = d // h
        scale = hd**-0.5
        qh, kh, att = self.cls_query_attention(q, k, h)  # att: (B, H, N)
        vh = v.reshape(bsz, n, h, hd)
        g_z = (g_o @ self.wo).reshape(*g_o.shape[:2], h, hd)  # (P, B, H, hd) before out_proj
        # values: dv[n, head] = att[head, n] * g_z[head]; through W_v once per head and prompt
        u_v = torch.einsum("pbhe,hed->pbhd", g_z, self.wv.reshape(h, hd, d))
        g_ln = torch.einsum("bhn,pbhd->pbnd", att, u_v)
        # keys: softmax backward gives each logit's gradient; dk[n, head] = dlogit * scale * q_cls[head]
        d_att = torch.einsum("pbhe,bnhe->pbhn", g_z, vh)
        d_logit = att * (d_att - (att * d_att).sum(dim=-1, keepdim=True))  # (P, B, H, N)
        u_k = torch.einsum("bhe,hed->bhd", qh, self.wk.reshape(h, hd, d)) * scale
        g_ln = g_ln + torch.einsum("pbhn,bhd->pbnd", d_logit, u_k)
        # the class token's query
        d_q = torch.einsum("pbhn,bnhe->pbhe", d_logit, kh) * scale
        g_ln[:, :, 0] += torch.einsum("pbhe,hed->pbd", d_q, self.wq.reshape(h, hd, d))
        with torch.enable_grad():
            _, ln_vjp = torch.func.vjp(self.blk.ln_1, x_in)
            (g_x,) = torch.func.vmap(ln_vjp)(g_ln)
        g_x = g_x.detach()
        g_x[:, :, 0] += g_res
        return g_x
