"""Randomization sanity checks (Adebayo et al., 2018): a map that explains the model must change when
the model's weights, or the text it explains, are replaced by random ones.

Model randomization cascades from the top of the image tower: the projection head and the last
block, then the last two blocks, ... then every block, then every weight of the image tower. Each
re-initialized tensor is redrawn from a Gaussian with that tensor's own mean and standard deviation
(so scales stay plausible; constant tensors such as fresh LayerNorm gains stay constant). Text
randomization replaces the target by a prompt of random letters, and separately re-initializes the
text tower. The score is the Spearman rank correlation between the original and the randomized
model's map of the same image and target (14x14 grid): near 1 means the map ignores what changed.
"""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Mapping

import numpy as np
import torch

from medgrad_desktop.core.method_params import MethodParams
from medgrad_desktop.core.model import ClipModel
from medgrad_desktop.core.prompts import Target
from medgrad_desktop.evaluation.named import named_maps
from medgrad_desktop.evaluation.stats import spearman


def _redraw(module_or_params, gen: torch.Generator) -> None:
    params = (
        module_or_params.parameters() if isinstance(module_or_params, torch.nn.Module) else module_or_params
    )
    with torch.no_grad():
        for p in params:
            mean, std = p.float().mean(), (p.float().std() if p.numel() > 1 else torch.tensor(0.0))
            noise = torch.randn(p.shape, generator=gen, dtype=torch.float32)
            p.copy_((mean + std * noise).to(p.dtype).to(p.device))


def clone_model(clip: ClipModel, name: str) -> ClipModel:
    card = dataclasses.replace(
        clip.card,
        name=name,
        weights_sha256=f"{clip.card.weights_sha256}+{name}",
        untrained=True,
        extra=dict(clip.card.extra),
        ood={"reason": f"{name}: weights changed, the training statistics no longer apply"},
    )
    return ClipModel(copy.deepcopy(clip.model), card, clip.catalogue, clip.device)


def cascade_steps(clip: ClipModel) -> list[str]:
    n = len(clip.visual.transformer.resblocks)
    return [f"top-{k}" for k in range(1, n + 1)] + ["all-visual"]


def randomized_visual(clip: ClipModel, step: str, seed: int) -> ClipModel:
    """A copy with the top k blocks (and the head) of the image tower redrawn, or all of it."""
    out = clone_model(clip, f"randomized-{step}")
    vis = out.visual
    gen = torch.Generator().manual_seed(seed)
    if step == "all-visual":
        _redraw(vis, gen)
        return out
    k = int(step.split("-")[1])
    head = [p for p in (vis.proj,) if isinstance(p, torch.nn.Parameter)] + list(vis.ln_post.parameters())
    _redraw(head, gen)
    for blk in list(vis.transformer.resblocks)[-k:]:
        _redraw(blk, gen)
    return out


def randomized_text_tower(clip: ClipModel, seed: int) -> ClipModel:
    out = clone_model(clip, "randomized-text-tower")
    gen = torch.Generator().manual_seed(seed)
    m = out.model
    text_params = [p for n, p in m.named_parameters() if not n.startswith("visual.") and n != "logit_scale"]
    _redraw(text_params, gen)
    out.clear_text_cache()
    return out


def random_text_target(seed: int, words: int = 6) -> Target:
    rng = np.random.default_rng(seed)
    letters = np.array(list("abcdefghijklmnopqrstuvwxyz"))
    text = " ".join("".join(rng.choice(letters, rng.integers(3, 9))) for _ in range(words))
    return Target.free_text(text)


def _named(params: list[MethodParams] | Mapping[str, MethodParams]) -> dict[str, MethodParams]:
    """Maps are named by method unless the caller names them (two settings of one method)."""
    return dict(params) if isinstance(params, Mapping) else {p.method: p for p in params}


def _grids(
    clip: ClipModel,
    images: list[np.ndarray],
    targets: list[Target],
    params: list[MethodParams] | Mapping[str, MethodParams],
) -> dict[str, list[np.ndarray]]:
    """{map name: [raw map per image]} where image i is explained for targets[i]."""
    named = _named(params)
    uniq = list({t.key: t for t in targets}.values())  # one batched call; each image keeps its own target
    maps = named_maps(clip, images, uniq, named)
    return {n: [maps[i][(n, t.key)].raw for i, t in enumerate(targets)] for n in named}


def sanity_checks(
    clip: ClipModel,
    images: list[np.ndarray],
    targets: list[Target],
    params: list[MethodParams] | Mapping[str, MethodParams],
    seed: int = 0,
) -> dict[str, dict[str, list[float]]]:
    """{check: {map name: [Spearman per image]}} for the model cascade and both text randomizations."""
    base = _grids(clip, images, targets, params)
    out: dict[str, dict[str, list[float]]] = {}

    def compare(name: str, grids: dict[str, list[np.ndarray]]) -> None:
        out[name] = {m: [spearman(a, b) for a, b in zip(base[m], grids[m], strict=True)] for m in base}

    for step in cascade_steps(clip):
        compare(step, _grids(randomized_visual(clip, step, seed), images, targets, params))
    rnd = [random_text_target(seed + i) for i in range(len(images))]
    compare("random-text", _grids(clip, images, rnd, params))
    compare("text-tower", _grids(randomized_text_tower(clip, seed), images, targets, params))
    return out
