"""`medgrad evaluate`: JSON keys, plots, and what happens with classes the model cannot name."""

from __future__ import annotations

import json

import numpy as np
import pytest

from medgrad_desktop.training.metrics import classification_metrics, expected_calibration_error


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
    rc = main(["evaluate", str(synth_set), "--random-init", "--arch", "MedGrad-Tiny", "--device", "cpu",
               "--json", "--out", str(out)])
    assert rc == 0
    result = json.loads(capsys.readouterr().out)
    for key in ("accuracy", "balanced_accuracy", "macro_f1", "ece", "per_class", "confusion_matrix", "in_batch"):
        assert key in result
    assert result["n"] == 6 and 0 <= result["accuracy"] <= 1
    assert "NOT diagnosis accuracy" in result["in_batch"]["label"]
    assert set(result["per_class"]) == {"melanoma", "lentigo", "clark_nevus", "reed_or_spitz_nevus",
                                        "dermal_nevus", "basal_cell_carcinoma"}
    assert sum(map(sum, result["confusion_matrix"])) == 6  # every image in the matrix ("other" column)
    for name in ("confusion.png", "reliability.png", "metrics.json"):
        assert (out / name).stat().st_size > 1000


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
