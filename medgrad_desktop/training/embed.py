"""Image and prompt embeddings from a raw open_clip CLIP module (training or evaluation).

Shared by the trainer (validation each epoch, on the module being trained) and by evaluation (on a
loaded `ClipModel`), so both score exactly the same way the app classifies: class embedding = mean of
the normalized template embeddings, re-normalized; probabilities = softmax(logit_scale * cos / T).
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


def class_bank(model: torch.nn.Module, tokenizer, catalogue: Catalogue, class_ids: list[str],
               device: torch.device) -> torch.Tensor:
    targets = [catalogue.class_target(c) for c in class_ids]
    return _bank(model, tokenizer, [list(t.prompts) for t in targets], device)


def criteria_banks(model: torch.nn.Module, tokenizer, catalogue: Catalogue, device: torch.device,
                   template_index: int | None = None) -> dict[str, torch.Tensor]:
    """{criterion id: (options, E)}. With `template_index`, one template only (cheaper, for training)."""
    groups, names = [], []
    for crit in catalogue.criteria:
        for opt in crit.options:
            prompts = list(catalogue.criterion_target(crit.id, opt.id).prompts)
            groups.append([prompts[template_index % len(prompts)]] if template_index is not None else prompts)
        names.append((crit.id, len(crit.options)))
    bank = _bank(model, tokenizer, groups, device)
    out, col = {}, 0
    for cid, n in names:
        out[cid] = bank[col:col + n]
        col += n
    return out


def _bank(model: torch.nn.Module, tokenizer, groups: list[list[str]], device: torch.device) -> torch.Tensor:
    flat = [p for g in groups for p in g]
    emb = encode_texts(model, tokenizer, flat, device)
    out, i = [], 0
    for g in groups:
        out.append(F.normalize(emb[i:i + len(g)].mean(0), dim=-1))
        i += len(g)
    return torch.stack(out)


@torch.no_grad()
def encode_images(model: torch.nn.Module, images: torch.Tensor, batch_size: int = 64) -> torch.Tensor:
    out = [F.normalize(model.encode_image(images[i:i + batch_size]).float(), dim=-1)
           for i in range(0, images.shape[0], batch_size)]
    return torch.cat(out) if out else torch.empty(0)
