"""Image features as every score in the app uses them: the image tower's output, in float32,
L2-normalized, so a dot product with a normalized text embedding is the CLIP cosine."""

from __future__ import annotations

import torch


def embed_images(model: torch.nn.Module, x: torch.Tensor) -> torch.Tensor:
    """Normalized image features (B, E) of the preprocessed batch `x` (B, 3, S, S).

    `model` is the OpenCLIP module (`ClipModel.model`, or the one being trained). Gradients flow when
    the caller has them enabled, so training uses the same function as inference."""
    return torch.nn.functional.normalize(model.encode_image(x).float(), dim=-1)
