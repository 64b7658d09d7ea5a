"""The study analysis on answers built by hand, where every figure can be worked out on paper; the
kappas against statsmodels and against hand-computed values; undefined figures as NaN with a note."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from statsmodels.stats.inter_rater import aggregate_raters, cohens_kappa, fleiss_kappa

from medgrad_desktop.study.agreement import cohen, fleiss
from medgrad_desktop.study.analysis import analyze
from medgrad_desktop.study.records import Response, Scoring

SCORING = Scoring(malignant=frozenset({"melanoma", "basal_cell_carcinoma"}), coarse={})
# case -> (truth, AI); C1 and C2 the AI gets right, C3 and C4 wrong
CASES = {
    "C1": ("melanoma", "melanoma"),
    "C2": ("clark_nevus", "clark_nevus"),
    "C3": ("dermal_nevus", "melanoma"),
    "C4": ("lentigo", "seborrheic_keratosis"),
}
SHOWS = {"no-ai": "nothing", "ai": "prediction"}


def resp(reader, case, arm, answer, *, pos=1, repeat=False, conf=5, trust=None, seconds=10.0, session=None):
    truth, ai = CASES[case]
    return Response(
        reader=reader,
        case_id=case,
        arm=arm,
        shows=SHOWS[arm],
        session=session or (1 if arm == "no-ai" else 2),
        position=pos,
        repeat=repeat,
        truth=truth,
        answer=answer,
        ai_class=ai,
        confidence=conf,
        trust=trust if SHOWS[arm] != "nothing" else None,
        map_helped=None,
        seconds=seconds,
    )


def hand_study() -> list[Response]:
    out = []
    answers = {
        ("R01", "no-ai"): ["melanoma", "dermal_nevus", "melanoma", "lentigo"],
        ("R01", "ai"): ["melanoma", "clark_nevus", "melanoma", "seborrheic_keratosis"],
        ("R02", "no-ai"): ["basal_cell_carcinoma", "clark_nevus", "dermal_nevus", "lentigo"],
        ("R02", "ai"): ["melanoma", "clark_nevus", "dermal_nevus", "seborrheic_keratosis"],
    }
    trust = {"R01": [8, 8, 6, 4], "R02": [5, 5, 5, 5]}
    for (reader, arm), ans in answers.items():
        for i, (case, a) in enumerate(zip(CASES, ans, strict=True)):
            out.append(
                resp(
                    reader,
                    case,
                    arm,
                    a,
                    pos=i + 1,
                    conf=i + 3,
                    trust=trust[reader][i],
                    seconds=10.0 * (i + 1),
                )
            )
    # R01 reads C2 and C4 again in the no-AI session: C2 differently, C4 the same
    out.append(resp("R01", "C2", "no-ai", "clark_nevus", pos=5, repeat=True, seconds=99.0))
    out.append(resp("R01", "C4", "no-ai", "lentigo", pos=6, repeat=True, seconds=99.0))
    return out


def test_hand_study_figures():
    a = analyze(hand_study(), SCORING, n_boot=200)
    assert [x.id for x in a.arms] == ["no-ai", "ai"] and a.reference_arm == "no-ai"
    assert (a.n_answers, a.n_repeats, a.n_cases) == (16, 2, 4)
    no_ai, ai = a.arm("no-ai"), a.arm("ai")
    # first readings only: the repeats change neither accuracy nor time
    assert no_ai.accuracy.value == pytest.approx(5 / 8) and no_ai.n_answers == 8
    assert no_ai.balanced_accuracy.value == pytest.approx((0.5 + 0.5 + 0.5 + 1) / 4)
    assert no_ai.sensitivity.value == 1.0  # C1 called malignant by both (melanoma, basal cell carcinoma)
    assert no_ai.specificity.value == pytest.approx(5 / 6)  # R01 called C3 melanoma
    assert no_ai.median_seconds.value == 25.0
    assert no_ai.confidence.value == pytest.approx(4.5)
    assert no_ai.agree_ai_wrong.value == pytest.approx(1 / 4) and ai.agree_ai_wrong.value == pytest.approx(
        3 / 4
    )
    assert no_ai.agree_ai_right.value == pytest.approx(1 / 2) and ai.agree_ai_right.value == 1.0
    assert ai.reliance.value == pytest.approx((3 / 4 - 1 / 4) / (1 - 1 / 4))
    assert a.arm("ai", "R01").reliance.value == pytest.approx(1.0)  # (1 - 1/2) / (1 - 1/2)
    assert a.arm("ai", "R02").reliance.value == pytest.approx(0.5)  # (1/2 - 0) / 1
    assert ai.trust_ai_right.value == pytest.approx(6.5) and ai.trust_ai_wrong.value == pytest.approx(5.0)
    assert ai.trust_gap.value == pytest.approx(1.5)
    assert a.arm("ai", "R01").trust_gap.value == pytest.approx(3.0)
    acc = next(d for d in a.differences if d.metric == "accuracy")
    assert (acc.arm, acc.reference) == ("ai", "no-ai")
    assert acc.estimate.value == pytest.approx(ai.accuracy.value - no_ai.accuracy.value)
    # intra-reader: (dermal, clark) and (lentigo, lentigo): po 1/2, pe 1/4, kappa 1/3
    r01 = next(x for x in a.intra_reader if x.reader == "R01")
    assert r01.agreement == 0.5 and r01.kappa.n == 2
    assert r01.kappa.value == pytest.approx(1 / 3)


def test_intervals_hold_the_estimate_and_are_reproducible():
    a = analyze(hand_study(), SCORING, n_boot=300, seed=3)
    b = analyze(hand_study()[::-1], SCORING, n_boot=300, seed=3)  # the order of the answers does not matter
    assert a.to_dict() == b.to_dict()
    for m in a.by_arm + a.by_reader:
        for e in (m.accuracy, m.confidence, m.agree_ai_right):
            assert e.low <= e.value <= e.high
    r = a.arm("no-ai", "R02").accuracy  # 3 of 4: the exact (Clopper-Pearson) interval
    assert (r.low, r.high) == pytest.approx((0.19412, 0.99369), abs=1e-4)


def test_cohen_kappa_by_hand_and_against_statsmodels():
    # the 2x2 table [[20, 5], [10, 15]]: po = 0.7, pe = 0.5, kappa = 0.4
    first = ["melanoma"] * 25 + ["clark_nevus"] * 25
    second = ["melanoma"] * 20 + ["clark_nevus"] * 5 + ["melanoma"] * 10 + ["clark_nevus"] * 15
    k = cohen(first, second)
    ref = cohens_kappa(np.array([[15, 10], [5, 20]]))  # categories sorted: clark_nevus, melanoma
    assert k.kappa == pytest.approx(0.4) and k.kappa == pytest.approx(ref.kappa)
    assert (k.low, k.high) == pytest.approx((ref.kappa_low, ref.kappa_upp))
    # the same through analyze: one reader's answers against the AI
    cases = {f"K{i:02d}": ("clark_nevus", ai) for i, ai in enumerate(second)}
    rs = [
        Response("R01", c, "ai", "prediction", 1, i + 1, False, t, ans, ai, 5, 5, None, 3.0)
        for i, ((c, (t, ai)), ans) in enumerate(zip(cases.items(), first, strict=True))
    ]
    m = analyze(rs, SCORING, n_boot=100).arm("ai", "R01")
    assert m.kappa_ai.value == pytest.approx(0.4) and m.kappa_ai.n == 50
    # a random 5-class table
    rng = np.random.default_rng(0)
    x, y = rng.integers(0, 5, 300), rng.integers(0, 5, 300)
    y[:150] = x[:150]
    table = np.zeros((5, 5))
    np.add.at(table, (x, y), 1)
    k = cohen([str(v) for v in x], [str(v) for v in y])
    assert k.kappa == pytest.approx(cohens_kappa(table).kappa)


def test_fleiss_kappa_by_hand_and_against_statsmodels():
    a, b, c = "clark_nevus", "dermal_nevus", "melanoma"
    rows = [[a, a, b], [b, b, b], [a, b, a], [c, c, c]]
    assert fleiss(rows) == pytest.approx(23 / 47)  # P-bar 2/3, Pe 25/72
    codes = np.array([[{a: 0, b: 1, c: 2}[x] for x in row] for row in rows])
    assert fleiss(rows) == pytest.approx(fleiss_kappa(aggregate_raters(codes)[0]))
    rs = [
        Response(f"R0{j + 1}", f"C{i}", "no-ai", "nothing", 1, i + 1, False, c, ans, c, 5, None, None, 3.0)
        for i, row in enumerate(rows)
        for j, ans in enumerate(row)
    ]
    inter = analyze(rs, SCORING, n_boot=50).inter_reader
    assert inter[0].fleiss_kappa == pytest.approx(23 / 47) and (inter[0].n_readers, inter[0].n_cases) == (
        3,
        4,
    )


def test_undefined_figures_are_nan_with_a_reason():
    # the AI right on every case, one reader, no arm without the AI, no repeats, trust never asked
    rs = [
        Response("R01", f"C{i}", "ai", "prediction", 1, i + 1, False, t, t, t, None, None, None, 5.0)
        for i, t in enumerate(["clark_nevus", "lentigo", "dermal_nevus"])
    ]
    a = analyze(rs, SCORING, n_boot=100)
    m = a.arm("ai")
    for name in ("agree_ai_wrong", "reliance", "sensitivity", "confidence", "trust", "trust_ai_wrong"):
        assert math.isnan(getattr(m, name).value), name
    assert m.accuracy.value == 1.0 and m.specificity.value == 1.0
    assert math.isnan(a.arm("ai", "R01").median_seconds.low)  # 3 times: too few for a 95 % interval
    text = " ".join(a.undefined)
    for reason in (
        "no case the AI got wrong",
        "no malignant case",
        "confidence was not asked",
        "no arm without the AI to compare with",
        "no case was read twice",
        "Fleiss' kappa in ai: undefined, fewer than two readers",
    ):
        assert reason in text, reason
    d = json.loads(json.dumps(a.to_dict(), allow_nan=False))  # NaN becomes null
    arm = d["by_arm"][0]
    assert arm["reliance"]["value"] is None and arm["accuracy"]["value"] == 1.0


def test_no_answers_is_an_error():
    with pytest.raises(ValueError, match="no answers"):
        analyze([], SCORING)


def test_coarse_answers_are_scored_by_their_call():
    scoring = Scoring(SCORING.malignant, {"malignant": True, "benign": False, "excise": True})
    rs = [
        resp("R01", "C1", "ai", "excise", pos=1, trust=7),  # malignant truth: right, agrees with the AI
        resp("R01", "C2", "ai", "benign", pos=2, trust=7),  # right, agrees
        resp("R01", "C3", "ai", "malignant", pos=3, trust=7),  # AI wrong (melanoma on a nevus): wrong, agrees
        resp(
            "R01", "C4", "ai", "benign", pos=4, trust=7
        ),  # AI wrong in class but right in call: right, agrees
    ]
    m = analyze(rs, scoring, n_boot=100).arm("ai")
    assert m.accuracy.value == pytest.approx(3 / 4)
    assert m.agree_ai_right.value == 1.0 and m.agree_ai_wrong.value == 1.0  # C3 only is wrong in call
    assert m.agree_ai_wrong.n == 1


def test_a_reader_who_has_not_read_an_arm_yet():
    rs = [r for r in hand_study() if not (r.reader == "R02" and r.arm == "ai")]
    a = analyze(rs, SCORING, n_boot=100)
    m = a.arm("ai", "R02")
    assert m.n_answers == 0 and math.isnan(m.accuracy.value) and math.isnan(m.kappa_ai.value)
    assert m.undefined == {"answers": "no answers in this arm yet"}
    assert a.arm("ai").accuracy.value == pytest.approx(2 / 4)  # R01's alone
    assert any("no answers in this arm yet (R02/ai)" in n for n in a.undefined)


def test_reliance_is_undefined_not_a_crash_when_readers_already_matched_the_wrong_ai_without_it():
    """Without the AI, every answer on the AI's wrong cases (C3, C4) already named the AI's class:
    reliance divides by 1 - 1 = 0, which is NaN with its reason, never a ZeroDivisionError."""
    rs = [
        resp("R01", "C1", "no-ai", "melanoma", pos=1),
        resp("R01", "C3", "no-ai", "melanoma", pos=2),
        resp("R01", "C4", "no-ai", "seborrheic_keratosis", pos=3),
        resp("R01", "C1", "ai", "melanoma", pos=1, trust=6),
        resp("R01", "C3", "ai", "melanoma", pos=2, trust=6),
        resp("R01", "C4", "ai", "lentigo", pos=3, trust=6),
    ]
    a = analyze(rs, SCORING, n_boot=100)
    for reader in ("", "R01"):
        m = a.arm("ai", reader)
        assert math.isnan(m.reliance.value) and m.agree_ai_wrong.value == pytest.approx(1 / 2)
        assert m.undefined["reliance"] == "without the AI every answer on its wrong cases already matched it"
