"""Write a model as safetensors plus a JSON model card that `load_model` reads back."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

import torch
from safetensors.torch import save_file


def save_checkpoint(module: torch.nn.Module, path: Path | str, card: dict, half: bool = False) -> Path:
    """Atomic: weights and card are written to temporary names, then renamed."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    state = {k: (v.detach().half() if half and v.is_floating_point() else v.detach()).cpu().contiguous()
             for k, v in module.state_dict().items()}
    fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
    os.close(fd)
    try:
        save_file(state, tmp)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    card_path = path.with_suffix(".card.json")
    fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
    with os.fdopen(fd, "w") as f:
        json.dump(card, f, indent=1, sort_keys=True)
    os.replace(tmp, card_path)
    return path
