"""Diagnosis and 7-point-criteria predictions from an image embedding.

Probabilities are softmax(logit_scale * cos / temperature) over the class prompts; each criterion is
a softmax over its own options. The same image embedding also feeds the explanations and the
out-of-distribution check (`core.ood`, when the model has statistics), so classifying, checking and
explaining an image costs one forward.
"""

from __future__ import annotations

from contextlib import nullcontext

import numpy as np
import torch

from medgrad_desktop.core.embedding import block_token_means, embed_images
from medgrad_desktop.core.model import ClipModel
from medgrad_desktop.core.prediction import CriterionPrediction, Prediction


class _PromptBank:
    """Text embeddings of the catalogue, computed once per model."""

    def __init__(self, clip: ClipModel):
        cat = clip.catalogue
        self.class_emb = clip.target_embeddings(cat.class_targets())
        crit_targets = cat.criterion_targets()
        self.crit_emb = clip.target_embeddings(crit_targets) if crit_targets else None


def _bank(clip: ClipModel) -> _PromptBank:
    bank = getattr(clip, "_prompt_bank", None)
    if bank is None or bank.class_emb.device != clip.device:
        bank = _PromptBank(clip)
        clip._prompt_bank = bank  # type: ignore[attr-defined]
    return bank


def _scale(clip: ClipModel) -> float:
    return clip.logit_scale / max(clip.card.temperature, 1e-6)


def class_logits(clip: ClipModel, feats: torch.Tensor) -> np.ndarray:
    """The classifier's logits (B, C) as float64, the softmax of which is a prediction's probabilities:
    what the out-of-distribution scores read, here and where their statistics are computed."""
    sims = feats.float() @ _bank(clip).class_emb.T
    return (_scale(clip) * sims).cpu().numpy().astype(np.float64)


def wants_block_tokens(clip: ClipModel) -> bool:
    """Whether the model's out-of-distribution check reads the blocks' mean patch tokens, which the
    classifying forward then captures (`core.embedding.block_token_means`)."""
    return clip.ood is not None and clip.ood.needs_tokens


def predictions_from_features(
    clip: ClipModel,
    feats: torch.Tensor,
    top_k: int = 5,
    block_tokens: list[torch.Tensor | None] | None = None,
) -> list[Prediction]:
    """feats: (B, E) L2-normalized image embeddings; `block_tokens`, each image-tower block's mean patch
    token (B, W) from the same forward, when the out-of-distribution check needs them (without them its
    result is None)."""
    cat = clip.catalogue
    bank = _bank(clip)
    scale = _scale(clip)
    feats = feats.float()
    sims = feats @ bank.class_emb.T
    probs = torch.softmax(scale * sims, dim=-1).cpu().numpy().astype(np.float64)
    sims_np = sims.cpu().numpy().astype(np.float64)
    tokens = (
        [t.cpu().numpy() for t in block_tokens]
        if block_tokens is not None and all(t is not None for t in block_tokens)
        else None
    )
    oods = (
        clip.ood.results(feats.cpu().numpy(), class_logits(clip, feats), tokens)
        if clip.ood is not None
        else [None] * feats.shape[0]
    )
    crit_sims = (feats @ bank.crit_emb.T).cpu() if bank.crit_emb is not None else None
    out = []
    names = tuple(c.display_name for c in cat.classes)
    for b in range(feats.shape[0]):
        criteria = []
        score = 0
        col = 0
        for crit in cat.criteria:
            n = len(crit.options)
            p = torch.softmax(scale * crit_sims[b, col : col + n], dim=-1).numpy().astype(np.float64)
            col += n
            j = int(np.argmax(p))
            opt = crit.options[j]
            score += opt.points
            criteria.append(
                CriterionPrediction(
                    crit.id,
                    crit.display_name,
                    opt.id,
                    opt.phrase,
                    float(p[j]),
                    opt.points,
                    {o.id: float(pp) for o, pp in zip(crit.options, p, strict=True)},
                )
            )
        out.append(
            Prediction(
                class_ids=tuple(cat.class_ids),
                class_names=names,
                probabilities=tuple(float(x) for x in probs[b]),
                similarities=tuple(float(x) for x in sims_np[b]),
                criteria=tuple(criteria),
                seven_point_score=score,
                seven_point_threshold=cat.seven_point_threshold,
                model_sha256=clip.card.weights_sha256,
                untrained=clip.card.untrained,
                top_k_size=top_k,
                ood=oods[b],
            )
        )
    return out


@torch.no_grad()
def classify(
    clip: ClipModel,
    images: list[np.ndarray],
    batch_size: int = 32,
    top_k: int = 5,
    autocast_dtype: torch.dtype | None = None,
) -> list[Prediction]:
    """Batched classification; `autocast_dtype` (fp16/bf16) only on CUDA, for throughput."""
    preds: list[Prediction] = []
    capture = block_token_means(clip.model) if wants_block_tokens(clip) else nullcontext(None)
    with capture as tokens:
        for i in range(0, len(images), batch_size):
            x, _ = clip.batch(images[i : i + batch_size])
            if autocast_dtype is not None and clip.device.type == "cuda":
                with torch.autocast("cuda", dtype=autocast_dtype):
                    f = embed_images(clip.model, x)
            else:
                f = embed_images(clip.model, x)
            preds.extend(predictions_from_features(clip, f, top_k, tokens))
    return preds
