"""Write a model as safetensors plus a JSON model card that `load_model` reads back."""

from __future__ import annotations

import json
from pathlib import Path

import torch
from safetensors.torch import save_file

from medgrad_desktop.atomic import write_file_atomic, write_text_atomic
from medgrad_desktop.core.card import ModelCard


def card_text(card: ModelCard | dict) -> str:
    """The card file's text: a `ModelCard`'s own JSON, or a plain dict in the same layout."""
    if isinstance(card, ModelCard):
        return card.to_json()
    return json.dumps(card, indent=1, sort_keys=True)


def save_checkpoint(
    module: torch.nn.Module, path: Path | str, card: ModelCard | dict, half: bool = False
) -> Path:
    """Atomic: weights and card are each written to a temporary name, then renamed."""
    path = Path(path)
    state = {
        k: (v.detach().half() if half and v.is_floating_point() else v.detach()).cpu().contiguous()
        for k, v in module.state_dict().items()
    }
    write_file_atomic(path, lambda tmp: save_file(state, str(tmp)))
    write_text_atomic(path.with_suffix(".card.json"), card_text(card))
    return path
