"""The one hook manager of every explanation: it captures the last block's tensors and always removes
its hooks, errors included, so a failed map never leaves the model altered for the next image."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import torch
from open_clip.transformer import ResidualAttentionBlock
from torch import nn


class UnsupportedModelError(Exception):
    pass


@dataclass
class Captured:
    x_in: torch.Tensor | None = None  # (B, N, D) input of the last block (Grad-CAM's F)
    x_ln: torch.Tensor | None = None  # (B, N, D) ln_1 output (q, k, v are projected from it)
    attn_out: torch.Tensor | None = None  # (B, N, D) attention output after out_proj
    extra: dict = field(default_factory=dict)


def last_block(visual: nn.Module) -> nn.Module:
    blocks = getattr(getattr(visual, "transformer", None), "resblocks", None)
    if not blocks:
        raise UnsupportedModelError(
            "the image tower has no transformer blocks (only ViT models are supported)"
        )
    blk = blocks[-1]
    if not isinstance(blk, ResidualAttentionBlock) or not isinstance(blk.attn, nn.MultiheadAttention):
        raise UnsupportedModelError(f"unsupported last block type {type(blk).__name__}")
    if getattr(visual, "attn_pool", None) is not None or getattr(visual, "pool_type", "tok") != "tok":
        raise UnsupportedModelError("only class-token pooling is supported")
    if not getattr(visual.transformer, "batch_first", True):
        raise UnsupportedModelError("only batch-first transformers are supported")
    return blk


def live_hook_count(module: nn.Module) -> int:
    """Hooks currently attached anywhere in `module`: the leak check of the tests and load runs."""
    n = 0
    for m in module.modules():
        n += len(m._forward_hooks) + len(m._forward_pre_hooks) + len(m._backward_hooks)
    return n


@contextmanager
def capture_last_block(visual: nn.Module) -> Iterator[Captured]:
    blk = last_block(visual)
    cap = Captured()

    def pre(_m, args, kwargs=None):
        cap.x_in = args[0] if args else kwargs["q_x"]

    def on_ln(_m, _args, out):
        cap.x_ln = out

    def on_attn(_m, _args, out):
        cap.attn_out = out[0] if isinstance(out, tuple) else out

    handles = [
        blk.register_forward_pre_hook(pre, with_kwargs=True),
        blk.ln_1.register_forward_hook(on_ln),
        blk.attn.register_forward_hook(on_attn),
    ]
    try:
        yield cap
    finally:
        for h in handles:
            h.remove()
