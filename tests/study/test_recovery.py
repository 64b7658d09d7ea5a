"""Simulated readers of known accuracy, reliance on the AI and speed: `analyze` recovers them.

20 studies here (the benchmark, benchmarks/study_recovery.py, runs 200 against the 95 % goal). With
80 to 240 intervals per quantity a true 95 % coverage falls below 85 % by chance with a probability
under 2e-4 (binomial, 80 intervals), so the bound catches a broken interval without failing on an
unlucky seed; the seeds are fixed anyway, so the test is deterministic.
"""

from __future__ import annotations

from medgrad_desktop.study.recovery import Design, run_recovery


def test_intervals_cover_and_estimates_are_near_the_truth():
    rows = {r.quantity: r for r in run_recovery(20, design=Design(), n_boot=500, seed=100)}
    assert set(rows) == {
        "accuracy without the AI",
        "accuracy with the AI",
        "reliance on the AI",
        "median seconds per case",
    }
    for r in rows.values():
        assert r.intervals >= 80
        assert r.coverage >= 0.85, r
    # point estimates: unbiased and close (80 cases per reader and arm)
    assert rows["accuracy without the AI"].mean_abs_error < 0.06
    assert rows["accuracy with the AI"].mean_abs_error < 0.06
    assert rows["reliance on the AI"].mean_abs_error < 0.12
    assert rows["median seconds per case"].mean_abs_error < 0.10  # relative to the true median
    for r in rows.values():
        assert abs(r.bias) < 0.03, r
