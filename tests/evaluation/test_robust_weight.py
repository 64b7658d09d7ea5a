"""The robust-weight attempt: candidates scored as Grad-ECLIP's map x their weight equal the engine's
MedGrad maps, and the pre-registered rule decides hand-made numbers as written."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from medgrad_desktop.core.explain import GradECLIPParams, MedGradParams, analyze_batch
from medgrad_desktop.evaluation.robust_weight import CANDIDATES, choose, confirm, goals, robust_weight_config
from medgrad_desktop.evaluation.robustness import run_robustness, weighted_eclip
from medgrad_desktop.evaluation.samples import synthetic_samples


@pytest.mark.parametrize("name", list(CANDIDATES))
def test_the_shared_product_is_the_engines_medgrad_map(tiny_model, name):
    clip, p = tiny_model, CANDIDATES[name]
    imgs = [s.image for s in synthetic_samples(3, 31)]
    targets = clip.catalogue.class_targets()[:2]
    eclip = analyze_batch(clip, imgs, targets, [GradECLIPParams()])
    medgrad = analyze_batch(clip, imgs, targets, [p])
    for img, e, m in zip(imgs, eclip, medgrad, strict=True):
        for t in targets:
            shared = weighted_eclip(e.get("grad-eclip", t), clip.squash(img), img, p)
            assert np.array_equal(shared, m.get("medgrad", t).normalized)


def test_the_shared_product_refuses_what_it_does_not_compute(tiny_model):
    img = next(synthetic_samples(1, 32)).image
    t = tiny_model.catalogue.class_targets()[0]
    e = analyze_batch(tiny_model, [img], [t], [GradECLIPParams()])[0].get("grad-eclip", t)
    with pytest.raises(ValueError, match="multiply"):
        weighted_eclip(e, tiny_model.squash(img), img, MedGradParams(combine="pixel"))
    with pytest.raises(ValueError, match="settings"):
        weighted_eclip(e, tiny_model.squash(img), img, MedGradParams(qk_space="out_proj"))


def test_a_candidate_scores_as_the_protocol_scores_medgrad(tiny_model):
    cfg = dataclasses.replace(
        robust_weight_config(seed=3),
        methods=("grad-eclip", "medgrad"),
        method_params={"medgrad": CANDIDATES["levels16"]},
        weight_variants={"levels16": CANDIDATES["levels16"]},
    )
    result = run_robustness(tiny_model, synthetic_samples(2, 33), cfg)
    for rec in result.records:
        assert "clean.target_pointing" in rec["levels16"] and "uniform@5.max_sensitivity" in rec["levels16"]
        assert rec["levels16"] == rec["medgrad"]


def _row(
    sens: float, ruler: float = 1.0, auroc: float = 0.80, pointing: float = 0.70, hi: float | None = None
):
    iv = {"mean": sens, "lo": sens - 0.1, "hi": sens + 0.1 if hi is None else hi, "n": 40}
    return {
        "sensitivity": 0.1,
        "target_auroc": auroc,
        "target_pointing": pointing,
        "sensitivity_vs_grad_eclip": iv,
        "sensitivity_vs_default": iv,
        "attraction": {
            k: {
                "median": 1.0,
                "vs_grad_eclip": {"mean": ruler if k == "ruler" else 1.0, "lo": 0, "hi": 2, "n": 40},
            }
            for k in ("hairs", "ruler", "bubbles")
        },
    }


def _summary(**rows) -> dict:
    maps = {"grad-eclip": {**_row(1.0), "target_auroc": 0.80}}
    maps |= {n: _row(2.0) for n in CANDIDATES}
    maps |= rows
    return {"maps": maps}


def test_the_rule_picks_the_lowest_sensitivity_ratio_among_those_that_pass_the_gate():
    s = _summary(
        default=_row(1.8),
        smooth1=_row(1.2, auroc=0.789),  # AUROC more than 0.01 below the default's: out
        levels16=_row(1.3, pointing=0.69),  # pointing below the default's: out
        radius10=_row(1.5, auroc=0.791),  # within 0.01: in
        alpha05=_row(1.6, pointing=0.75),
    )
    d = choose(s)
    assert d["qualifies"]["smooth1"] is False and d["qualifies"]["levels16"] is False
    assert d["qualifies"]["radius10"] and d["qualifies"]["default"]
    assert d["winner"] == "radius10"


def test_within_the_tie_margin_the_lower_ruler_ratio_then_the_table_order_wins():
    s = _summary(default=_row(1.8), levels16=_row(1.305, ruler=1.1), radius10=_row(1.30, ruler=1.2))
    assert choose(s)["winner"] == "levels16"  # 0.005 worse on noise, less drawn to the ruler
    s = _summary(default=_row(1.8), levels16=_row(1.305, ruler=1.2), radius10=_row(1.30, ruler=1.2))
    assert choose(s)["winner"] == "levels16"  # equal: the table's order
    s = _summary(default=_row(1.8), levels16=_row(1.32, ruler=0.5), radius10=_row(1.30, ruler=1.2))
    assert choose(s)["winner"] == "radius10"  # 0.02 apart: noise decides


def test_no_winner_unless_it_beats_the_default():
    s = _summary(default=_row(1.2))  # every other candidate 2.0
    d = choose(s)
    assert d["leader"] is not None and d["winner"] is None
    s = _summary(**{n: _row(1.0, auroc=0.5) for n in CANDIDATES if n != "default"}, default=_row(1.8))
    assert choose(s)["winner"] is None  # none passes the gate


def test_confirmation_needs_the_interval_below_1_and_the_gate():
    ok = _summary(default=_row(1.8), levels16=_row(0.8, hi=0.99))
    assert confirm(ok, "levels16")["passes"]
    wide = _summary(default=_row(1.8), levels16=_row(0.8, hi=1.0))
    assert not confirm(wide, "levels16")["passes"] and not confirm(wide, "levels16")["a_interval_below_1"]
    gate = _summary(default=_row(1.8), levels16=_row(0.8, hi=0.9, pointing=0.6))
    c = confirm(gate, "levels16")
    assert c["a_interval_below_1"] and not c["b_gate"] and not c["passes"]


def test_the_goals_for_the_winner():
    s = _summary(levels16=_row(1.0, hi=1.05, auroc=0.78))
    assert goals(s, "levels16")["all"]
    s = _summary(levels16=_row(1.0, hi=1.06, auroc=0.77))
    g = goals(s, "levels16")
    assert not g["sensitivity"] and not g["target_auroc"] and not g["all"]


def test_default_weight_follows_the_preregistered_confirmation():
    """The rule applied again to the stored runs on the bundled model gives the stored verdicts, and
    MedGrad's default weight is the confirmed winner's, or today's when none was confirmed. Retraining
    the model or changing the default without rerunning the attempt fails here."""
    import hashlib
    import json
    from pathlib import Path

    from medgrad_desktop.evaluation.robust_weight import INCUMBENT, SEEDS
    from medgrad_desktop.resources_path import resources_dir

    runs = Path(__file__).resolve().parents[2] / "docs/explanations/robust-weight"
    dev = json.loads((runs / f"seed-{SEEDS['development']}/robust-weight.json").read_text())
    conf = json.loads((runs / f"seed-{SEEDS['confirmation']}/robust-weight.json").read_text())
    weights = (resources_dir() / "demo/model/demo-model.safetensors").read_bytes()
    for doc in (dev, conf):
        assert doc["meta"]["n"] == 40
        assert doc["meta"]["model"]["weights_sha256"] == hashlib.sha256(weights).hexdigest()
    winner = choose(dev["summary"])["winner"]
    assert winner == dev["decision"]["winner"]
    passes = bool(winner) and confirm(conf["summary"], winner)["passes"]
    assert passes == conf["decision"]["passes"]
    assert MedGradParams() == CANDIDATES[winner if passes else INCUMBENT]
