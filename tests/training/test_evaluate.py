"""`medgrad evaluate`: JSON keys, plots, and what happens with classes the model cannot name."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest

from medgrad_desktop.core.auroc import auroc
from medgrad_desktop.core.checkpoint import save_checkpoint
from medgrad_desktop.data.synth import ALL_CLASSES, CRITERIA_ORDER, FINDING_PHRASES, HELD_OUT_PHRASES
from medgrad_desktop.resources_path import resources_dir
from medgrad_desktop.training.metrics import (
    balanced_accuracy,
    classification_metrics,
    expected_calibration_error,
)


@pytest.fixture(scope="module")
def synth_set(tmp_path_factory):
    from medgrad_desktop.data.synth import SynthConfig
    from medgrad_desktop.data.synth_io import write_dataset

    out = tmp_path_factory.mktemp("evalset")
    write_dataset(out, 6, seed=4, config=SynthConfig(size=64, counterfactual=False))
    return out


def test_evaluate_json_and_plots(synth_set, tmp_path, capsys):
    from medgrad_desktop.cli import main

    out = tmp_path / "ev"
    rc = main(
        [
            "evaluate",
            str(synth_set),
            "--random-init",
            "--arch",
            "MedGrad-Tiny",
            "--device",
            "cpu",
            "--json",
            "--out",
            str(out),
        ]
    )
    assert rc == 0
    result = json.loads(capsys.readouterr().out)
    for key in (
        "accuracy",
        "balanced_accuracy",
        "macro_f1",
        "ece",
        "per_class",
        "confusion_matrix",
        "in_batch",
    ):
        assert key in result
    assert result["n"] == 6 and 0 <= result["accuracy"] <= 1
    assert "NOT diagnosis accuracy" in result["in_batch"]["label"]
    with open(synth_set / "manifest.csv", newline="") as f:
        labels = {row["label"] for row in csv.DictReader(f)}
    assert set(result["per_class"]) == labels and len(labels) == 6
    assert result["labels_unknown_to_model"] == {} and result["n_images"] == 6
    assert set(result["criteria_balanced_accuracy"]) == set(CRITERIA_ORDER)
    assert sum(map(sum, result["confusion_matrix"])) == 6  # every image in the matrix ("other" column)
    for name in ("confusion.png", "reliability.png", "metrics.json"):
        assert (out / name).stat().st_size > 1000


@pytest.fixture(scope="module")
def all_classes_set(tmp_path_factory):
    from medgrad_desktop.data.synth import SynthConfig
    from medgrad_desktop.data.synth_io import write_dataset

    out = tmp_path_factory.mktemp("allclasses")
    write_dataset(out, 2 * len(ALL_CLASSES), seed=9, config=SynthConfig(size=64, counterfactual=False))
    return out


def _four_class_model(path, tiny_model):
    cat = json.loads((resources_dir() / "catalogue.json").read_text())
    cat["classes"] = [c for c in cat["classes"] if c["id"] in FOUR]
    return save_checkpoint(
        tiny_model.model,
        path,
        {
            "name": "four",
            "architecture": "MedGrad-Tiny",
            "arch_config": tiny_model.card.arch_config,
            "catalogue_data": cat,
        },
    )


FOUR = ("melanoma", "lentigo", "clark_nevus", "basal_cell_carcinoma")
FINDING_OF = {p: key for key, ps in FINDING_PHRASES.items() for p in ps}


def main_text_output(dataset, weights, capsys) -> str:
    from medgrad_desktop.cli import main

    assert main(["evaluate", str(dataset), "--weights", str(weights), "--device", "cpu"]) == 0
    return capsys.readouterr().out


def test_evaluate_leaves_out_labels_unknown_to_the_model(all_classes_set, tmp_path, tiny_model, capsys):
    """A 4-class model on a 17-class set: every metric over the 8 images it can name, the other 26
    counted apart with a warning, never as errors."""
    from medgrad_desktop.cli import main

    weights = _four_class_model(tmp_path / "four.safetensors", tiny_model)
    assert (
        main(["evaluate", str(all_classes_set), "--weights", str(weights), "--device", "cpu", "--json"]) == 0
    )
    captured = capsys.readouterr()
    result = json.loads(captured.out)
    assert result["n"] == 8 and result["n_images"] == 34 and result["n_unknown_to_model"] == 26
    assert result["labels_unknown_to_model"] == {c: 2 for c in ALL_CLASSES if c not in FOUR}
    assert "warning: 26 of 34 images have labels the model does not know" in captured.err
    assert sum(map(sum, result["confusion_matrix"])) == 8
    assert set(result["per_class"]) == set(FOUR)
    assert sum(pc["support"] for pc in result["per_class"].values()) == 8
    assert result["accuracy"] * 8 == pytest.approx(round(result["accuracy"] * 8))  # a share of the 8
    assert sum(v["n"] for v in result["strata"]["skin_tone"].values()) == 8
    assert set(result["criteria_balanced_accuracy"]) == set(CRITERIA_ORDER)
    assert all(0 <= v <= 1 for v in result["criteria_balanced_accuracy"].values())
    assert set(result["phrase_auroc"]) <= set(HELD_OUT_PHRASES) and result["phrase_auroc"]
    assert all(0 <= v <= 1 for v in result["phrase_auroc"].values())
    # the trained wordings, scored on the same images, so a miss can be told text-side or image-side
    trained = {p for ps in FINDING_PHRASES.values() for p in ps}
    assert set(result["phrase_auroc_trained"]) <= trained and not trained & set(HELD_OUT_PHRASES)
    assert set(result["phrase_auroc_trained_same_finding"]) == set(result["phrase_auroc"])
    for phrase, ref in result["phrase_auroc_trained_same_finding"].items():
        same = [
            v for p, v in result["phrase_auroc_trained"].items() if FINDING_OF[p] == HELD_OUT_PHRASES[phrase]
        ]
        assert ref == pytest.approx(sum(same) / len(same))
    assert "trained wordings" in main_text_output(all_classes_set, weights, capsys)


def test_evaluate_refuses_a_set_with_no_known_label(all_classes_set, tmp_path, tiny_model, capsys):
    from medgrad_desktop.cli import main

    weights = _four_class_model(tmp_path / "four.safetensors", tiny_model)
    only_unknown = tmp_path / "unknown.csv"
    with open(all_classes_set / "manifest.csv", newline="") as f:
        rows = [r for r in csv.DictReader(f) if r["label"] not in FOUR]
    with open(only_unknown, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=["path", "label"])
        w.writeheader()
        w.writerows({"path": str(all_classes_set / r["path"]), "label": r["label"]} for r in rows)
    assert main(["evaluate", str(only_unknown), "--weights", str(weights), "--device", "cpu", "--json"]) == 2
    assert "none of the 26 images has a label the model knows" in capsys.readouterr().err


def test_auroc_and_balanced_accuracy():
    assert auroc(np.array([0.1, 0.4, 0.35, 0.8]), np.array([0, 0, 1, 1], bool)) == pytest.approx(0.75)
    assert auroc(np.array([1.0, 1.0]), np.array([1, 0], bool)) == pytest.approx(0.5)
    assert np.isnan(auroc(np.array([1.0, 2.0]), np.array([1, 1], bool)))  # undefined: no negative
    assert balanced_accuracy(["a", "a", "a", "b"], ["a", "a", "a", "a"]) == pytest.approx(0.5)


def test_evaluate_reports_unreadable_dataset(tmp_path, capsys):
    from medgrad_desktop.cli import main

    (tmp_path / "bad.csv").write_text("path,label\nnope.png,melanoma\n")
    assert main(["evaluate", str(tmp_path / "bad.csv"), "--random-init", "--arch", "MedGrad-Tiny"]) == 2
    assert "bad.csv:2" in capsys.readouterr().err


def test_ece_perfectly_calibrated_is_zero_and_overconfident_is_not():
    conf = np.array([0.8] * 10)
    ok = np.array([1] * 8 + [0] * 2, dtype=bool)
    assert expected_calibration_error(conf, ok)[0] == pytest.approx(0.0)
    assert expected_calibration_error(np.array([1.0] * 10), ok)[0] == pytest.approx(0.2)


def test_unknown_classes_do_not_inflate_macro_scores():
    probs = np.array([[0.7, 0.3, 0.0], [0.6, 0.4, 0.0]])
    m = classification_metrics(probs, np.array([0, 1]), ["a", "b", "c"], eval_classes=["a", "b"])
    assert set(m["per_class"]) == {"a", "b"}
    assert m["balanced_accuracy"] == pytest.approx(0.5)
