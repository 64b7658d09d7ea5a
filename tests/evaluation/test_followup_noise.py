"""The follow-up candidates' evaluation: the pre-registered choice and confirmation on hand-made counts,
and one classification per distinct image and copy."""

from __future__ import annotations

import numpy as np

from medgrad_desktop.core.prediction import Prediction
from medgrad_desktop.evaluation.followup_noise import (
    CANDIDATES,
    Counts,
    choose,
    confirmed,
    counts,
    shown_as_change,
)


def _c(u: int, n: int, g: int) -> Counts:
    return Counts(u, n, g, 40)


K = {"ref": 4, "a": 4, "b": 8, "c": 8}


def test_step1_takes_the_best_weakest_change_among_those_reaching_90_percent():
    ref = _c(21, 30, 22)
    results = {"ref": ref, "a": _c(37, 20, 25), "b": _c(36, 28, 24), "c": _c(30, 35, 35)}
    assert choose(results, K, "ref") == ("b", 1)
    # a candidate at 90 % that sees almost nothing is no better a test than the reference: not step 1
    results = {"ref": ref, "a": _c(38, 30, 4), "c": _c(30, 31, 22)}
    assert choose(results, K, "ref") == ("c", 2)
    # ties: the higher U, then fewer copies, then the table's order
    results = {"ref": ref, "b": _c(36, 28, 24), "a": _c(36, 25, 24)}
    assert choose(results, K, "ref") == ("a", 1)  # same weakest (24) and U: a has fewer copies


def test_step2_needs_both_change_counts_at_least_the_reference_and_step3_keeps_it():
    ref = _c(21, 30, 22)
    results = {"ref": ref, "a": _c(33, 30, 22), "b": _c(35, 29, 30), "c": _c(25, 31, 23)}
    assert choose(results, K, "ref") == ("a", 2)  # b loses a new structure the reference sees
    assert choose({"ref": ref, "b": _c(35, 29, 30), "c": _c(21, 31, 23)}, K, "ref") == (None, None)


def test_confirmation_applies_the_step_that_chose():
    ref = _c(20, 31, 21)
    assert confirmed(_c(36, 25, 25), ref, 1) and not confirmed(_c(35, 30, 30), ref, 1)
    assert confirmed(_c(25, 31, 21), ref, 2) and not confirmed(_c(25, 30, 30), ref, 2)
    assert _c(36, 32, 32).meets_goals() and not _c(36, 31, 32).meets_goals()


def _pred(x: float) -> Prediction:
    return Prediction(("a", "b"), ("A", "B"), (x, 1 - x), (0.0, 0.0), (), 0, 3, "m")


def test_each_image_and_copy_is_classified_once_and_counted_per_rule():
    passes: list[int] = []

    def classify(images: list[np.ndarray]) -> list[Prediction]:
        passes.append(len(images))
        return [_pred(float(img.mean()) / 255.0) for img in images]

    a = np.full((224, 224, 3), 100, np.uint8)
    b = np.full((224, 224, 3), 200, np.uint8)  # 39 pp apart: a change under every rule
    shown = shown_as_change(classify, [(a, b), (a, a.copy())], CANDIDATES)
    # two visits, 4 pose copies each (the reference) and 8 artefact copies each (shared by the others)
    assert passes == [2 + 2 * (4 + 8)] * 2
    assert all(v == [True, False] for v in shown.values())
    tally = counts({"unchanged": shown, "new structure": shown, "growth": shown}, "art8")
    assert tally == Counts(1, 1, 1, 2)
