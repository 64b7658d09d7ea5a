"""What trains and how fast: frozen towers, the optimiser and the learning-rate schedule."""

from __future__ import annotations

import math

import torch


def set_trainable(model: torch.nn.Module, freeze_image: bool, freeze_text: bool) -> None:
    """Freeze a tower by switching off its gradients; the logit scale trains unless both are frozen."""
    for name, p in model.named_parameters():
        if name.startswith("visual."):
            p.requires_grad_(not freeze_image)
        elif name == "logit_scale" or name == "logit_bias":
            p.requires_grad_(not (freeze_image and freeze_text))
        else:
            p.requires_grad_(not freeze_text)


def make_optimizer(model: torch.nn.Module, optimizer: str, lr: float, betas: tuple[float, float], eps: float,
                   weight_decay: float) -> torch.optim.Optimizer:
    """adam: the paper's (L2 weight decay on everything); adamw: decoupled decay, none on gains, biases,
    embeddings and the logit scale; sgd: plain momentum SGD (the DDP equivalence test compares gradients
    through it)."""
    params = [p for p in model.parameters() if p.requires_grad]
    if not params:
        raise ValueError("both towers are frozen: nothing to train")
    if optimizer == "adam":
        return torch.optim.Adam(params, lr=lr, betas=betas, eps=eps, weight_decay=weight_decay)
    if optimizer == "adamw":
        decay, no_decay = [], []
        for n, p in model.named_parameters():
            if not p.requires_grad:
                continue
            (no_decay if p.ndim < 2 or "embedding" in n or "logit_scale" in n or n.endswith(".bias") else decay
             ).append(p)
        return torch.optim.AdamW([{"params": decay, "weight_decay": weight_decay},
                                  {"params": no_decay, "weight_decay": 0.0}], lr=lr, betas=betas, eps=eps)
    if optimizer == "sgd":
        return torch.optim.SGD(params, lr=lr, momentum=0.9, weight_decay=weight_decay)
    raise ValueError(f"unknown optimizer '{optimizer}'; choose adam, adamw or sgd")


def lr_at(lr: float, schedule: str, warmup_steps: int, step: int, total: int) -> float:
    """Linear warm-up over `warmup_steps`, then constant or cosine decay to 0 at `total`."""
    if warmup_steps and step < warmup_steps:
        return lr * (step + 1) / warmup_steps
    if schedule == "cosine":
        t = (step - warmup_steps) / max(1, total - warmup_steps)
        return lr * 0.5 * (1 + math.cos(math.pi * min(1.0, t)))
    return lr
