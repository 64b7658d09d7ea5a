"""Prompt embeddings from a raw open_clip CLIP module while it is being trained.

Validation each epoch scores exactly the way the app classifies: class embedding = mean of the
normalized template embeddings, re-normalized; probabilities = softmax(logit_scale * cos / T).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from medgrad_desktop.core.prompts import Catalogue


def encode_texts(model: torch.nn.Module, tokenizer, texts: list[str], device: torch.device) -> torch.Tensor:
    """Normalized embeddings; each distinct text is encoded once (captions repeat a lot)."""
    uniq = list(dict.fromkeys(texts))
    emb = F.normalize(model.encode_text(tokenizer(uniq).to(device)).float(), dim=-1)
    index = {t: i for i, t in enumerate(uniq)}
    return emb[torch.tensor([index[t] for t in texts], device=device)]


def class_bank(
    model: torch.nn.Module, tokenizer, catalogue: Catalogue, class_ids: list[str], device: torch.device
) -> torch.Tensor:
    targets = [catalogue.class_target(c) for c in class_ids]
    return _bank(model, tokenizer, [list(t.prompts) for t in targets], device)


def _bank(model: torch.nn.Module, tokenizer, groups: list[list[str]], device: torch.device) -> torch.Tensor:
    flat = [p for g in groups for p in g]
    emb = encode_texts(model, tokenizer, flat, device)
    out, i = [], 0
    for g in groups:
        out.append(F.normalize(emb[i : i + len(g)].mean(0), dim=-1))
        i += len(g)
    return torch.stack(out)
