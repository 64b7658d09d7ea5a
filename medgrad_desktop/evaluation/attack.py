"""A projected-gradient attack on an explanation (Ghorbani et al. 2019, top-k objective).

Within an L-inf ball of `eps` grey levels around the model-input image, signed gradient steps lower the
share of the map's mass on the original map's top 10 % of cells, while the predicted class must stay:
each iterate's class is read from the same forward, and the iterate returned is the one with the lowest
objective among those that kept the class (the unperturbed image when none did). A step that changed
the class is undone and that image's step size halved, so an image near a class boundary is still
attacked with smaller steps. The result is rounded to uint8, as the app only ever sees such images;
the caller re-explains it with the engine.

The maps differentiated here are the engine's own (same last-block tensors and formulas: Grad-ECLIP,
Grad-CAM and MedGrad's patch-grid forms), written with autograd instead of the engine's detached VJPs
so the map's gradient with respect to the pixels exists (a second-order gradient). MedGrad's entropy
weight is a histogram statistic with no useful gradient: it is recomputed at every iterate and held
constant within a step, so the attack follows the model's part of the map.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from medgrad_desktop.core.embedding import embed_images
from medgrad_desktop.core.entropy import medgrad_weight
from medgrad_desktop.core.explain.grad_eclip import loosened_attention
from medgrad_desktop.core.explain.hooks import capture_last_block
from medgrad_desktop.core.explain.tail import ClassTokenTail
from medgrad_desktop.core.method_params import GradCAMParams, GradECLIPParams, MedGradParams, MethodParams
from medgrad_desktop.core.model import ClipModel
from medgrad_desktop.evaluation.suite import token_grid

TOP_FRACTION = 0.10  # the top-k set of Ghorbani's objective: the original map's top 10 % of cells


@dataclass
class AttackResult:
    images: list[np.ndarray]  # uint8, within eps of the originals
    kept: list[bool]  # whether any step moved the image while keeping the class
    objective: list[float]  # final share of map mass on the original top-k cells (clean: its start)
    start: list[float]


def differentiable_maps(
    clip: ClipModel, pixels: torch.Tensor, text: torch.Tensor, p: MethodParams, weights: torch.Tensor | None
) -> tuple[torch.Tensor, torch.Tensor]:
    """Raw patch-grid maps (B, N-1) of `p` for each image's own target embedding `text` (B, E), and the
    class logits' input: image features (B, E). `pixels`: (B, 3, S, S) in [0, 255], may require grad.
    `weights` (B, N-1): MedGrad's entropy weight, held constant."""
    if not pixels.requires_grad:  # the map is a gradient: the graph must reach the pixels
        pixels = pixels.detach().clone().requires_grad_(True)
    x = (pixels / 255.0 - clip.mean.to(pixels.device)) / clip.std.to(pixels.device)
    visual = clip.visual
    tail = ClassTokenTail(visual)
    with torch.enable_grad(), capture_last_block(visual) as cap:
        feats = embed_images(clip.model, x)
        x_in = cap.x_in.float()
        if isinstance(p, GradCAMParams):
            score = (tail.features_from_block_input(x_in) * text).sum()
            (g,) = torch.autograd.grad(score, x_in, create_graph=True)
            a = g.mean(dim=1) if p.include_cls_in_mean else g[:, 1:].mean(dim=1)
            return torch.relu(torch.einsum("bd,bnd->bn", a, x_in[:, 1:])), feats
        if not isinstance(p, (GradECLIPParams, MedGradParams)):
            raise TypeError(f"unknown parameter type {type(p).__name__}")
        if isinstance(p, MedGradParams) and p.combine == "pixel":
            raise ValueError("the attack covers MedGrad's patch-grid forms only")
        o = (
            tail.cls_attention(x_in, single_head=True)
            if p.official_single_head
            else cap.attn_out.float()[:, 0]
        )
        score = (tail.features_from_attn(x_in[:, 0], o) * text).sum()
        (g_o,) = torch.autograd.grad(score, o, create_graph=True)
        q, k, v = tail.project(cap.x_ln.float())
        replace = isinstance(p, MedGradParams) and p.combine == "replace"
        vs = (
            v[:, 1:]
            if replace
            else v[:, 1:] * loosened_attention(tail, q, k, p.qk_space, p.epsilon)[..., None]
        )
        m = torch.relu(torch.einsum("bd,bnd->bn", g_o @ tail.wo, vs))
        if isinstance(p, MedGradParams):
            m = m * weights
        return m, feats


def _medgrad_weights(pixels: torch.Tensor, p: MethodParams, grid: tuple[int, int]) -> torch.Tensor | None:
    """MedGrad's entropy weight (B, N-1) on the patch `grid` of the pixels rounded to uint8, as the app
    sees them; None for the other methods."""
    if not isinstance(p, MedGradParams):
        return None
    imgs = np.clip(np.rint(pixels.detach().permute(0, 2, 3, 1).cpu().numpy()), 0, 255).astype(np.uint8)
    return torch.stack(
        [torch.from_numpy(medgrad_weight(p, im, im, grid)).reshape(-1).float() for im in imgs]
    ).to(pixels.device)


def attack_maps(
    clip: ClipModel,
    images: list[np.ndarray],
    class_ids: list[str],
    p: MethodParams,
    eps_255: float,
    steps: int = 8,
) -> AttackResult:
    """Attack each model-input image (S x S uint8) on the map of its class `class_ids[b]`."""
    classes = clip.catalogue.class_targets()
    keys = [t.key for t in classes]
    class_text = clip.target_embeddings(classes)
    target_idx = torch.tensor([keys.index(c) for c in class_ids], device=clip.device)
    text = class_text[target_idx]
    x0 = torch.from_numpy(np.stack(images)).permute(0, 3, 1, 2).float().to(clip.device)
    delta = torch.zeros_like(x0)
    bsz = x0.shape[0]
    # four steps cross the ball; an image whose step changed the class goes back and halves its step
    step = torch.full((bsz, 1, 1, 1), max(eps_255 / 4.0, 0.5), device=x0.device)
    best_obj = torch.full((bsz,), float("inf"))
    best_delta = torch.zeros_like(x0)
    top: torch.Tensor | None = None
    start = torch.zeros(bsz)
    grid = token_grid(clip)
    for i in range(steps + 1):
        delta.requires_grad_(True)
        pix = x0 + delta
        m, feats = differentiable_maps(clip, pix, text, p, _medgrad_weights(pix, p, grid))
        if top is None:
            kk = max(1, int(round(TOP_FRACTION * m.shape[1])))
            idx = torch.argsort(m.detach(), dim=1, descending=True, stable=True)[:, :kk]
            top = torch.zeros_like(m).scatter_(1, idx, 1.0)
        share = (m * top).sum(dim=1) / (m.sum(dim=1) + 1e-12)
        with torch.no_grad():
            keep = (feats @ class_text.T).argmax(dim=1) == target_idx
            obj = share.detach().cpu()
            if i == 0:
                start = obj.clone()
            better = keep.cpu() & (obj < best_obj)
            best_obj = torch.where(better, obj, best_obj)
            best_delta[better] = delta.detach()[better]
        if i == steps:
            break
        (grad,) = torch.autograd.grad(share.sum(), delta)
        with torch.no_grad():
            kept = keep.view(-1, 1, 1, 1)
            step = torch.where(kept, step, step / 2)
            delta = torch.where(kept, delta.detach() - step * grad.sign(), best_delta)
            delta = delta.clamp(-eps_255, eps_255)
            delta = (x0 + delta).clamp(0, 255) - x0
    out = np.clip(np.rint((x0 + best_delta).permute(0, 2, 3, 1).cpu().numpy()), 0, 255).astype(np.uint8)
    moved = [bool(best_delta[b].abs().max() > 0) for b in range(bsz)]
    fin = [float(v) if np.isfinite(float(v)) else float(s) for v, s in zip(best_obj, start, strict=True)]
    return AttackResult(list(out), moved, fin, [float(s) for s in start])
