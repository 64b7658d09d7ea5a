"""The settings of one training run (`TrainConfig`) and what a run returns (`TrainResult`).

The defaults are the MedGrad paper's fine-tuning settings; from-scratch runs (the demo model) override
them explicitly and the card records every value.

The options of `medgrad train` are made from these fields (`commands/train.py`): a field declared with
`option(...)` is one, with its name, type, default and help; the others are for Python callers (the
demo build) only. A new setting that people should reach from the command line is one `option` field.
"""

from __future__ import annotations

from dataclasses import MISSING, dataclass, field
from pathlib import Path
from typing import Any, Literal

from medgrad_desktop.core.card import DEFAULT_INTENDED_USE, ModelCard
from medgrad_desktop.data.records import Record

DEMO_INTENDED_USE = "trained on synthetic images; demonstration only; not for clinical use"


def option(help: str, default: Any = MISSING, **cli: str) -> Any:
    """A `TrainConfig` field that `medgrad train` offers as an option. `help` is its help text (for a
    flag that defaults to True, what its `--no-...` form does); `cli` may hold `flag` (a name other
    than --field-name), `exclusive` (options with the same word may not be given together) and
    `none_word` (the word that stands for None, shown as the default)."""
    return field(default=default, metadata={"help": help, **cli})


@dataclass
class TrainConfig:
    data: list[str] = option(
        "data sets: manifest.csv, a `medgrad synth` folder, PH2, Derm7pt, or one sub-folder per class"
    )
    out: str = option("output folder (checkpoints/, model.safetensors + card)")
    # base weights; None with random_init trains from scratch
    weights: str | None = option(
        "base weights file (OpenCLIP or OpenAI format) to fine-tune", None, exclusive="base"
    )
    random_init: bool = option("train from scratch (random initialization)", False, exclusive="base")
    architecture: str | None = option(
        "architecture, e.g. ViT-B-16 (default: from the weights or card)", None, flag="--arch"
    )
    normalization: Literal["clip", "imagenet"] | None = option(
        "input normalization (default: the base model card's)", None
    )
    epochs: int = option("passes over the training split", 30)
    batch_size: int = option("global batch (split across DDP processes)", 64)
    lr: float = option("learning rate (the peak, with --warmup-steps or the cosine schedule)", 1e-5)
    betas: tuple[float, float] = option("the optimizer's betas (adam, adamw)", (0.9, 0.98))
    eps: float = option("the optimizer's epsilon (adam, adamw)", 1e-6)
    weight_decay: float = option("weight decay, applied as --optimizer says", 0.2)
    optimizer: Literal["adam", "adamw", "sgd"] = option(
        "adam: the paper's, weight decay as L2 on every weight; adamw: decoupled decay, none on gains, "
        "biases, embeddings and the logit scale; sgd: momentum SGD",
        "adam",
    )
    schedule: Literal["constant", "cosine"] = option(
        "learning rate after the warm-up: constant, or cosine decay to 0 at the last step", "constant"
    )
    warmup_steps: int = option("steps of linear learning-rate warm-up", 0)
    freeze_image: bool = option("keep the image tower fixed", False)
    freeze_text: bool = option("keep the text tower fixed", False)
    class_loss_weight: float = option(
        "add cross-entropy against the class prompts (the app's classifier); 0 = paper", 0.0
    )
    criteria_loss_weight: float = option(
        "add cross-entropy against each 7-point criterion's option prompts; 0 = paper", 0.0
    )
    criteria_balanced: bool = False  # weight each option of that CE by its inverse training frequency
    # more wordings of criterion options ("criterion:option" -> phrases), drawn per step for the criteria
    # loss beside the catalogue phrase, so a trained text tower learns that they mean the same finding
    criteria_synonyms: dict[str, list[str]] = field(default_factory=dict)
    # + pairwise ranking of the batch's images by cos(image, one wording of each finding), wordings drawn
    # per step from criteria_synonyms (never the held-out ones): what a free-text map and phrase AUROC use
    phrase_rank_loss_weight: float = 0.0
    seed: int = option("seed of the initialization, the batch order and the augmentation", 0)
    split_seed: int = option("seed of the split by lesion id into training, validation and test", 0)
    val_fraction: float = option("share of the lesions held out for validation", 0.1)
    test_fraction: float = option("share of the lesions held out for the test metrics", 0.1)
    patience: int = option("early stopping patience in epochs (0 = off)", 5)
    select_on: Literal["loss", "accuracy"] = option(
        "validation figure that picks the saved model and drives early stopping: the contrastive "
        "loss on captions, or the class-prompt accuracy",
        "loss",
    )
    max_rotation: float = option("largest random rotation of a training image, in degrees", 15.0)
    flip: bool = option("no random horizontal and vertical flips of the training images", True)
    photometric_p: float = 0.0  # share of training images whose brightness and contrast change (augment.py)
    workers: int = 0
    device: str | None = option("auto | cpu | cuda[:N]", None, none_word="auto")
    threads: int | None = option("CPU threads (torch.set_num_threads)", None)
    resume: bool = option("continue from OUT/checkpoints/last + state.pt", False)
    max_steps_per_epoch: int | None = option("at most this many steps per epoch (tests and smoke runs)", None)
    name: str | None = option("model name written to the card", None)
    demo: bool = False
    intended_use: str = option("intended use written to the card", DEFAULT_INTENDED_USE)
    half: bool = option("store the final weights in fp16", False)
    skip_bad: bool = option("use the good rows of a data set with bad rows", False)
    # <weights stem>.ood.npz beside the weights, for the out-of-distribution check (training/ood_stats.py)
    ood_stats: bool = option(
        "do not write the statistics of the training images for the out-of-distribution check beside the "
        "weights (`medgrad ood-stats` can write them later)",
        True,
    )
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
