"""Extra training images (make_demo --n-extra, docs/TRAINING.md) must not move the validation split of the
main set: the choice between training runs (`demo_choice`) compares them on the same validation images."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from medgrad_desktop.data.readers import read_dataset
from medgrad_desktop.data.synth import SynthConfig
from medgrad_desktop.data.synth_io import write_dataset
from medgrad_desktop.training import make_demo
from medgrad_desktop.training.split import split_by_lesion

SMALL = SynthConfig(size=48, counterfactual=False)


def test_extra_images_stay_in_training_and_leave_the_validation_split_alone(tmp_path):
    write_dataset(tmp_path / "main", 30, seed=1, config=SMALL)
    write_dataset(tmp_path / "extra", 12, seed=2, config=replace(SMALL, skin_tones=(4, 5)), split="train")
    main = read_dataset(tmp_path / "main").records
    extra = read_dataset(tmp_path / "extra").records
    assert {r.split for r in extra} == {"train"}
    alone = split_by_lesion(main, 0.2, 0.0, 7)
    mixed = split_by_lesion(main + extra, 0.2, 0.0, 7)
    assert [r.path for r in mixed["val"]] == [r.path for r in alone["val"]] and alone["val"]
    extra_paths = {r.path for r in extra}
    assert extra_paths <= {r.path for r in mixed["train"]}
    assert json.loads((tmp_path / "extra" / "synth.json").read_text())["split"] == "train"


def test_write_dataset_refuses_an_unknown_split(tmp_path):
    with pytest.raises(ValueError, match="not train, val or test"):
        write_dataset(tmp_path / "x", 2, seed=1, config=SMALL, split="holdout")


def test_make_demo_redraws_a_folder_drawn_in_another_setting(tmp_path):
    """The same seed in the training and the shifted setting draws different images; a work folder drawn
    in one must not be reused for the other."""
    path = tmp_path / "extra"
    make_demo._dataset(path, 3, 5, SMALL, 1, "train")
    first = (path / "images" / "synth_000000.png").read_bytes()
    make_demo._dataset(path, 3, 5, SMALL, 1, "train")  # reused: same setting
    assert (path / "images" / "synth_000000.png").read_bytes() == first
    make_demo._dataset(path, 3, 5, replace(SMALL, skin_tones=(5,), artefact_rate=1.0), 1, "train")
    assert (path / "images" / "synth_000000.png").read_bytes() != first
    assert json.loads((path / "synth.json").read_text())["config"]["skin_tones"] == [5]


def test_the_cross_setting_row_says_what_the_model_was_trained_on():
    assert (
        make_demo.training_setting_words(3400, 0, "shifted") == "training: 3400 images, tones 0-5, rate 0.6"
    )
    words = make_demo.training_setting_words(3400, 1700, "shifted")
    assert "plus 1700 images of seed 1101 in skin tones 4-5, artefact rate 1.0" in words
