"""Image features as every score in the app uses them: the image tower's output, in float32,
L2-normalized, so a dot product with a normalized text embedding is the CLIP cosine; and, for the
out-of-distribution check, each of the tower's blocks' mean patch token from the same forward."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import torch


def embed_images(model: torch.nn.Module, x: torch.Tensor) -> torch.Tensor:
    """Normalized image features (B, E) of the preprocessed batch `x` (B, 3, S, S).

    `model` is the OpenCLIP module (`ClipModel.model`, or the one being trained). Gradients flow when
    the caller has them enabled, so training uses the same function as inference."""
    return torch.nn.functional.normalize(model.encode_image(x).float(), dim=-1)


def image_blocks(model: torch.nn.Module) -> list[torch.nn.Module]:
    """The image tower's transformer blocks, in order ([] for a tower without them)."""
    return list(getattr(getattr(model.visual, "transformer", None), "resblocks", None) or [])


@contextmanager
def block_token_means(model: torch.nn.Module) -> Iterator[list[torch.Tensor | None]]:
    """While inside, each forward of `model`'s image tower leaves in the yielded list, per block, the
    mean of that block's output patch tokens (B, W), float32, detached (the class token, first, is
    left out). Forward hooks, always removed on leaving, errors included."""
    blocks = image_blocks(model)
    batch_first = getattr(getattr(model.visual, "transformer", None), "batch_first", True)
    means: list[torch.Tensor | None] = [None] * len(blocks)

    def hook(i: int):
        def on_block(_m, _args, out):
            t = out[0] if isinstance(out, tuple) else out
            t = t if batch_first else t.transpose(0, 1)
            means[i] = t[:, 1:].detach().float().mean(dim=1)

        return on_block

    handles = [b.register_forward_hook(hook(i)) for i, b in enumerate(blocks)]
    try:
        yield means
    finally:
        for h in handles:
            h.remove()
