"""Diagnosis and 7-point-criteria predictions from an image embedding.

Probabilities are softmax(logit_scale * cos / temperature) over the class prompts; each criterion is
a softmax over its own options. The same image embedding also feeds the explanations, so classifying
and explaining an image costs one forward.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import numpy as np
import torch

from medgrad_desktop.core.embedding import embed_images
from medgrad_desktop.core.model import ClipModel


@dataclass(frozen=True)
class CriterionPrediction:
    criterion_id: str
    display_name: str
    option_id: str
    phrase: str
    probability: float
    points: int
    probabilities: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class Prediction:
    class_ids: tuple[str, ...]
    class_names: tuple[str, ...]
    probabilities: tuple[float, ...]
    similarities: tuple[float, ...]
    criteria: tuple[CriterionPrediction, ...]
    seven_point_score: int
    seven_point_threshold: int
    model_sha256: str
    untrained: bool = False
    top_k_size: int = 5

    @property
    def order(self) -> list[int]:
        return sorted(range(len(self.probabilities)), key=lambda i: -self.probabilities[i])

    @property
    def predicted_id(self) -> str:
        return self.class_ids[self.order[0]]

    @property
    def predicted_name(self) -> str:
        return self.class_names[self.order[0]]

    @property
    def confidence(self) -> float:
        return self.probabilities[self.order[0]]

    def top_k(self, k: int | None = None) -> list[tuple[str, str, float]]:
        k = k or self.top_k_size
        return [(self.class_ids[i], self.class_names[i], self.probabilities[i]) for i in self.order[:k]]

    def probability_of(self, class_id: str) -> float:
        return self.probabilities[self.class_ids.index(class_id)]

    @property
    def seven_point_positive(self) -> bool:
        return self.seven_point_score >= self.seven_point_threshold

    def to_dict(self) -> dict:
        d = asdict(self)
        d["predicted"] = self.predicted_id
        d["confidence"] = self.confidence
        d["top_k"] = [{"id": i, "name": n, "probability": p} for i, n, p in self.top_k()]
        return d


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


def predictions_from_features(clip: ClipModel, feats: torch.Tensor, top_k: int = 5) -> list[Prediction]:
    """feats: (B, E) L2-normalized image embeddings."""
    cat = clip.catalogue
    bank = _bank(clip)
    scale = clip.logit_scale / max(clip.card.temperature, 1e-6)
    feats = feats.float()
    sims = feats @ bank.class_emb.T
    probs = torch.softmax(scale * sims, dim=-1).cpu().numpy().astype(np.float64)
    sims_np = sims.cpu().numpy().astype(np.float64)
    crit_sims = (feats @ bank.crit_emb.T).cpu() if bank.crit_emb is not None else None
    out = []
    names = tuple(c.display_name for c in cat.classes)
    for b in range(feats.shape[0]):
        criteria = []
        score = 0
        col = 0
        for crit in cat.criteria:
            n = len(crit.options)
            p = torch.softmax(scale * crit_sims[b, col:col + n], dim=-1).numpy().astype(np.float64)
            col += n
            j = int(np.argmax(p))
            opt = crit.options[j]
            score += opt.points
            criteria.append(CriterionPrediction(
                crit.id, crit.display_name, opt.id, opt.phrase, float(p[j]), opt.points,
                {o.id: float(pp) for o, pp in zip(crit.options, p, strict=True)}))
        out.append(Prediction(
            class_ids=tuple(cat.class_ids), class_names=names,
            probabilities=tuple(float(x) for x in probs[b]), similarities=tuple(float(x) for x in sims_np[b]),
            criteria=tuple(criteria), seven_point_score=score, seven_point_threshold=cat.seven_point_threshold,
            model_sha256=clip.card.weights_sha256, untrained=clip.card.untrained, top_k_size=top_k,
        ))
    return out


@torch.no_grad()
def classify(clip: ClipModel, images: list[np.ndarray], batch_size: int = 32, top_k: int = 5,
             autocast_dtype: torch.dtype | None = None) -> list[Prediction]:
    """Batched classification; `autocast_dtype` (fp16/bf16) only on CUDA, for throughput."""
    preds: list[Prediction] = []
    for i in range(0, len(images), batch_size):
        x, _ = clip.batch(images[i:i + batch_size])
        if autocast_dtype is not None and clip.device.type == "cuda":
            with torch.autocast("cuda", dtype=autocast_dtype):
                f = embed_images(clip.model, x)
        else:
            f = embed_images(clip.model, x)
        preds.extend(predictions_from_features(clip, f, top_k))
    return preds


def format_probability(p: float) -> str:
    """Whole percent, except near 0 and 100 where rounding would claim certainty the model lacks."""
    if p >= 0.9995:
        return ">99.9%"
    if p >= 0.995 or p < 0.01:
        return f"{p:.1%}"
    return f"{p:.0%}"
