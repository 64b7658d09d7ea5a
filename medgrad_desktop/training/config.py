"""The settings of one training run (`TrainConfig`) and what a run returns (`TrainResult`).

The defaults are the MedGrad paper's fine-tuning settings; from-scratch runs (the demo model) override
them explicitly and the card records every value.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from medgrad_desktop.core.card import DEFAULT_INTENDED_USE, ModelCard
from medgrad_desktop.data.records import Record

DEMO_INTENDED_USE = "trained on synthetic images; demonstration only; not for clinical use"


@dataclass
class TrainConfig:
    data: list[str]
    out: str
    weights: str | None = None  # base weights; None with random_init trains from scratch
    random_init: bool = False
    architecture: str | None = None
    normalization: str | None = None  # clip | imagenet; default: the base model card's
    epochs: int = 30
    batch_size: int = 64
    lr: float = 1e-5
    betas: tuple[float, float] = (0.9, 0.98)
    eps: float = 1e-6
    weight_decay: float = 0.2
    optimizer: str = (
        "adam"  # adam (the paper: L2 weight decay) | adamw (decoupled, none on gains/biases) | sgd
    )
    schedule: str = "constant"  # constant | cosine (with warmup_steps)
    warmup_steps: int = 0
    freeze_image: bool = False
    freeze_text: bool = False
    class_loss_weight: float = 0.0  # + CE against the class-prompt bank (what the app's classifier uses)
    criteria_loss_weight: float = 0.0  # + CE against each criterion's option prompts
    criteria_balanced: bool = False  # weight each option of that CE by its inverse training frequency
    # more wordings of criterion options ("criterion:option" -> phrases), drawn per step for the criteria
    # loss beside the catalogue phrase, so a trained text tower learns that they mean the same finding
    criteria_synonyms: dict[str, list[str]] = field(default_factory=dict)
    # + pairwise ranking of the batch's images by cos(image, one wording of each finding), wordings drawn
    # per step from criteria_synonyms (never the held-out ones): what a free-text map and phrase AUROC use
    phrase_rank_loss_weight: float = 0.0
    seed: int = 0
    split_seed: int = 0
    val_fraction: float = 0.1
    test_fraction: float = 0.1
    patience: int = 5  # early stopping on the selection metric; 0 = off
    # which validation figure picks the installed checkpoint (and early stopping): "loss" (the captions'
    # contrastive loss) or "accuracy" (the class-prompt classifier the app shows)
    select_on: str = "loss"
    max_rotation: float = 15.0
    flip: bool = True
    photometric_p: float = 0.0  # share of training images whose brightness and contrast change (augment.py)
    workers: int = 0
    device: str | None = None
    threads: int | None = None
    resume: bool = False
    max_steps_per_epoch: int | None = None  # tests and smoke runs
    name: str | None = None
    demo: bool = False
    intended_use: str = DEFAULT_INTENDED_USE
    half: bool = False  # store the final weights in fp16
    skip_bad: bool = False
    ood_stats: bool = True  # write <weights>.ood.npz for the out-of-distribution check (training/ood_stats.py)
    progress: bool = True
    notes: str = ""
    extra_card: dict = field(default_factory=dict)


@dataclass
class TrainResult:
    model_path: Path
    card: ModelCard | None  # None on ranks other than 0
    history: list[dict]
    splits: dict[str, list[Record]]
    test_metrics: dict | None
