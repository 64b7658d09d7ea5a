"""One forward per image batch, then every requested map of every prompt from batched VJPs.

This is the only entry point the UI, CLI, reports and evaluation use for explanations.
"""

from __future__ import annotations

import functools
from contextlib import nullcontext
from dataclasses import dataclass, field

import numpy as np
import torch

from medgrad_desktop.core.classify import Prediction, predictions_from_features, wants_block_tokens
from medgrad_desktop.core.embedding import block_token_means, embed_images
from medgrad_desktop.core.entropy import medgrad_weight
from medgrad_desktop.core.explain.grad_eclip import eclip_grids, loosened_attention, tail_grads
from medgrad_desktop.core.explain.gradcam import gradcam_grids
from medgrad_desktop.core.explain.hooks import capture_last_block
from medgrad_desktop.core.explain.tail import ClassTokenTail
from medgrad_desktop.core.heatmap import Heatmap, minmax, upsample
from medgrad_desktop.core.method_params import GradCAMParams, GradECLIPParams, MedGradParams, MethodParams
from medgrad_desktop.core.model import ClipModel
from medgrad_desktop.core.prompts import Target


@dataclass
class AnalysisResult:
    """One image's prediction and maps; `maps[(method, target.key)]`."""

    prediction: Prediction | None
    maps: dict[tuple[str, str], Heatmap] = field(default_factory=dict)
    image_features: np.ndarray | None = None
    # (method, target.key) -> the map's stability figure (None: a flat map), for the maps whose
    # stability a caller measured (`core.explain.stability`); the engine measures none
    stability: dict[tuple[str, str], float | None] = field(default_factory=dict)

    def get(self, method: str, target: Target | str) -> Heatmap:
        key = target.key if isinstance(target, Target) else target
        return self.maps[(method, key)]


def _grid_shape(visual: torch.nn.Module, n_patches: int) -> tuple[int, int]:
    gs = getattr(visual, "grid_size", None)
    if gs is not None and gs[0] * gs[1] == n_patches:
        return int(gs[0]), int(gs[1])
    side = int(round(n_patches**0.5))
    return side, n_patches // side


def _pixel_medgrad(
    base: torch.Tensor,
    grid: tuple[int, int],
    squashed: list[np.ndarray],
    images: list[np.ndarray],
    p: MedGradParams,
) -> torch.Tensor:
    """The Grad-ECLIP grids (P, B, N-1) upsampled bilinearly to the model input (as the app shows any
    map), times the per-pixel entropy weight: (P, B, S, S). Only the weight is finer than the grid."""
    s_h, s_w = squashed[0].shape[:2]
    up = torch.stack(
        [
            torch.from_numpy(upsample(g.reshape(grid), s_w, s_h))
            for g in base.reshape(-1, base.shape[-1]).cpu().numpy()
        ]
    )
    up = up.reshape(base.shape[0], base.shape[1], s_h, s_w)
    weight = torch.stack(
        [torch.from_numpy(medgrad_weight(p, sq, im, None)) for sq, im in zip(squashed, images, strict=True)]
    )
    return torch.relu(up) * weight[None]


def analyze(
    clip: ClipModel,
    rgb: np.ndarray,
    targets: list[Target],
    params: list[MethodParams],
    with_prediction: bool = True,
    prompt_loop: bool = False,
) -> AnalysisResult:
    return analyze_batch(clip, [rgb], targets, params, with_prediction, prompt_loop=prompt_loop)[0]


def analyze_batch(
    clip: ClipModel,
    images: list[np.ndarray],
    targets: list[Target],
    params: list[MethodParams],
    with_prediction: bool = True,
    top_k: int = 5,
    prompt_loop: bool = False,
) -> list[AnalysisResult]:
    """Predictions and maps for each image. Images share the targets; each map keeps its own score.

    `prompt_loop=True` computes each prompt's gradient by its own VJP (the official one-backward-per-
    prompt pattern); it exists so tests and the benchmark can compare it with the batched default.
    """
    x, squashed = clip.batch(images)
    visual = clip.visual
    tail = ClassTokenTail(visual)
    tokens_wanted = with_prediction and wants_block_tokens(clip)
    with (
        capture_last_block(visual) as cap,
        block_token_means(clip.model) if tokens_wanted else nullcontext(None) as tokens,
        torch.no_grad(),
    ):
        feats = embed_images(clip.model, x)
    preds = predictions_from_features(clip, feats, top_k, tokens) if with_prediction else [None] * len(images)
    results = [AnalysisResult(p, image_features=f) for p, f in zip(preds, feats.cpu().numpy(), strict=True)]
    if not params or not targets:
        return results
    x_in = cap.x_in.detach().float()
    x_ln = cap.x_ln.detach().float()
    attn_cls = cap.attn_out.detach().float()[:, 0]
    n_patch = x_in.shape[1] - 1
    grid = _grid_shape(visual, n_patch)
    text = clip.target_embeddings(targets)

    grads_cache: dict[bool, tuple[torch.Tensor, torch.Tensor, torch.Tensor]] = {}

    @functools.cache
    def qkv() -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """q, k, v of the last block, projected once and shared by all three methods."""
        return tail.project(x_ln)

    @functools.cache
    def spatial_weight(qk_space: str, eps: float) -> torch.Tensor:
        q, k, _ = qkv()
        return loosened_attention(tail, q, k, qk_space, eps)

    def class_token_grads(single_head: bool) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(scores (B, P), dS/dx_cls (P, B, D), dS/do_cls (P, B, D)): one batched VJP of the class-token
        tail for all prompts, or one VJP per prompt when looping; shared by every method."""
        if single_head not in grads_cache:
            if prompt_loop:
                outs = [
                    tail_grads(tail, x_in, attn_cls, text[j : j + 1], single_head)
                    for j in range(text.shape[0])
                ]
                grads_cache[single_head] = (
                    torch.cat([o[0] for o in outs], dim=1),
                    torch.cat([o[1] for o in outs], dim=0),
                    torch.cat([o[2] for o in outs], dim=0),
                )
            else:
                grads_cache[single_head] = tail_grads(tail, x_in, attn_cls, text, single_head)
        return grads_cache[single_head]

    for p in params:
        if isinstance(p, GradCAMParams):
            scores, g_res, g_o = class_token_grads(False)
            raw = gradcam_grids(tail, x_in, qkv(), g_res, g_o, p)
        elif isinstance(p, GradECLIPParams):
            scores, _, g_o = class_token_grads(p.official_single_head)
            raw = eclip_grids(g_o @ tail.wo, qkv()[2][:, 1:], spatial_weight(p.qk_space, p.epsilon))
        elif isinstance(p, MedGradParams):
            scores, _, g_o = class_token_grads(p.official_single_head)
            spatial = spatial_weight(p.qk_space, p.epsilon) if p.combine != "replace" else None
            base = eclip_grids(g_o @ tail.wo, qkv()[2][:, 1:], spatial)
            if p.combine == "pixel":
                raw = _pixel_medgrad(base, grid, squashed, images, p)
            else:
                weight = torch.stack(
                    [
                        torch.from_numpy(medgrad_weight(p, sq, im, grid)).reshape(-1)
                        for sq, im in zip(squashed, images, strict=True)
                    ]
                ).to(base.device)
                raw = base * weight[None]
        else:
            raise TypeError(f"unknown parameter type {type(p).__name__}")
        raw_np = raw.cpu().numpy().astype(np.float32)
        scores_np = scores.cpu().numpy()
        pd = p.to_dict()
        shape = raw_np.shape[2:] if raw_np.ndim == 4 else grid
        for b, img in enumerate(images):
            size = (img.shape[1], img.shape[0])
            for j, t in enumerate(targets):
                g = raw_np[j, b].reshape(shape)
                results[b].maps[(p.method, t.key)] = Heatmap(
                    method=p.method,
                    target=t,
                    score=float(scores_np[b, j]),
                    raw=g,
                    normalized=minmax(g, p.epsilon),
                    image_size=size,
                    params=pd,
                    model_sha256=clip.card.weights_sha256,
                )
    return results
