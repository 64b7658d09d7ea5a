"""`medgrad train`'s options are made from `TrainConfig`: with none given, the run is the dataclass's
defaults; every option reaches its field; the settings without an option keep their defaults."""

from __future__ import annotations

import dataclasses

import pytest

from medgrad_desktop.cli import build_parser
from medgrad_desktop.commands.train import config_from_args
from medgrad_desktop.training.config import TrainConfig


def _config(*argv: str) -> TrainConfig:
    return config_from_args(build_parser("train").parse_args(["train", *argv]))


def test_no_options_give_the_dataclass_defaults():
    assert _config("d1", "d2", "--out", "o") == TrainConfig(data=["d1", "d2"], out="o")


def test_each_option_sets_its_field():
    cfg = _config(
        *("d", "--out", "o", "--weights", "w.pt", "--arch", "ViT-B-16", "--normalization", "imagenet"),
        *(
            "--device",
            "cuda:1",
            "--epochs",
            "3",
            "--batch-size",
            "8",
            "--lr",
            "2e-4",
            "--betas",
            "0.8",
            "0.9",
        ),
        *("--eps", "1e-8", "--weight-decay", "0.1", "--optimizer", "adamw", "--schedule", "cosine"),
        *("--warmup-steps", "4", "--freeze-image", "--freeze-text", "--class-loss-weight", "0.5"),
        *("--criteria-loss-weight", "0.25", "--seed", "3", "--split-seed", "4", "--val-fraction", "0.2"),
        *("--test-fraction", "0.3", "--patience", "0", "--select-on", "accuracy", "--max-rotation", "5"),
        *("--no-flip", "--threads", "2", "--resume", "--max-steps-per-epoch", "7", "--name", "n", "--half"),
        *("--skip-bad", "--intended-use", "x", "--no-ood-stats"),
    )
    expected = {
        "weights": "w.pt",
        "architecture": "ViT-B-16",
        "normalization": "imagenet",
        "device": "cuda:1",
        "epochs": 3,
        "batch_size": 8,
        "lr": 2e-4,
        "betas": (0.8, 0.9),
        "eps": 1e-8,
        "weight_decay": 0.1,
        "optimizer": "adamw",
        "schedule": "cosine",
        "warmup_steps": 4,
        "freeze_image": True,
        "freeze_text": True,
        "class_loss_weight": 0.5,
        "criteria_loss_weight": 0.25,
        "seed": 3,
        "split_seed": 4,
        "val_fraction": 0.2,
        "test_fraction": 0.3,
        "patience": 0,
        "select_on": "accuracy",
        "max_rotation": 5.0,
        "flip": False,
        "threads": 2,
        "resume": True,
        "max_steps_per_epoch": 7,
        "name": "n",
        "half": True,
        "skip_bad": True,
        "intended_use": "x",
        "ood_stats": False,
    }
    assert cfg == dataclasses.replace(TrainConfig(data=["d"], out="o"), **expected)
    assert isinstance(cfg.betas, tuple)
    options = {f.name for f in dataclasses.fields(TrainConfig) if "help" in f.metadata}
    assert set(expected) == options - {"data", "out", "random_init"}  # every option but --weights' rival
    assert _config("d", "--out", "o", "--random-init").random_init is True


def test_device_auto_is_none_and_choices_come_from_the_field_types(capsys):
    assert _config("d", "--out", "o", "--device", "auto").device is None
    with pytest.raises(SystemExit) as exc:
        _config("d", "--out", "o", "--optimizer", "lion")
    assert exc.value.code == 2
    assert "invalid choice: 'lion' (choose from 'adam', 'adamw', 'sgd')" in capsys.readouterr().err
