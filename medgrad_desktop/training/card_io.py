"""What a training run writes besides weights: the model card, the resumable optimiser state, the
history and the split, each through an atomic write so a crash never leaves half a file."""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
from dataclasses import asdict
from pathlib import Path

import torch

from medgrad_desktop import __version__
from medgrad_desktop.atomic import write_atomic, write_text_atomic
from medgrad_desktop.core.card import ModelCard
from medgrad_desktop.core.prompts import Catalogue
from medgrad_desktop.data.records import Record
from medgrad_desktop.training.config import TrainConfig


def manifest_sha256(splits: dict[str, list[Record]]) -> str:
    """Hash of what the model was trained and selected on: path name, label, caption, lesion, split."""
    h = hashlib.sha256()
    for name in ("train", "val", "test"):
        for r in sorted(splits[name], key=lambda r: (r.lesion_id, str(r.path))):
            h.update(f"{name}\t{r.path.name}\t{r.label}\t{r.caption}\t{r.lesion_id}\n".encode())
    return h.hexdigest()


def build_card(cfg: TrainConfig, base_card: ModelCard, out: Path, class_ids: list[str], catalogue: Catalogue,
               splits: dict[str, list[Record]], extra: dict | None = None) -> ModelCard:
    """The model card of a run: architecture and preprocessing from the base card, the data (manifest
    hash, split seed and sizes), the full training config, and `extra` (epoch, metrics, history).
    `save_checkpoint` writes it with `ModelCard.to_json`, the form `load_model` reads back."""
    c = base_card
    card = {
        "name": cfg.name or f"{c.architecture} fine-tuned ({out.name})",
        "architecture": c.architecture, "arch_config": c.arch_config, "quick_gelu": c.quick_gelu,
        "mean": list(c.mean), "std": list(c.std), "interpolation": c.interpolation,
        "temperature": 1.0, "demo": cfg.demo, "untrained": False,
        "intended_use": cfg.intended_use,
        "base_weights": None if cfg.random_init or cfg.weights is None else
        {"path": str(cfg.weights), "sha256": c.weights_sha256, "name": c.name},
        "catalogue_data": catalogue.data, "classes": class_ids,
        "prompts": {cid: list(catalogue.class_target(cid).prompts) for cid in class_ids},
        "training_manifest_sha256": manifest_sha256(splits), "split_seed": cfg.split_seed,
        "seed": cfg.seed,
        "split_sizes": {k: len(v) for k, v in splits.items()},
        "training_config": {k: v for k, v in asdict(cfg).items() if k not in ("extra_card",)},
        "date": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
        "app_version": __version__, "notes": cfg.notes,
    }
    card.update(cfg.extra_card)
    card.update(extra or {})
    return ModelCard.from_json(card, weights_path=None, weights_sha256="", weights_format="safetensors",
                               input_size=c.input_size)


def save_state(path: Path, state: dict) -> Path:
    """The optimiser/RNG state for `resume`, written atomically (a crash mid-save keeps the old one)."""
    return write_atomic(path, lambda f: torch.save(state, f))


def write_json(path: Path, obj: object) -> Path:
    return write_text_atomic(path, json.dumps(obj, indent=1))


def split_lesions(splits: dict[str, list[Record]]) -> dict[str, list[str]]:
    return {k: sorted({r.lesion_id for r in v}) for k, v in splits.items()}
