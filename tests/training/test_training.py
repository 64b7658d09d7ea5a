"""Training pipeline: leak-free split, losses, temperature scaling, a tiny run whose loss falls,
checkpoints with resume, and a card the core loader reads back."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from medgrad_desktop.data.records import Record
from medgrad_desktop.training.loss import caption_keys, contrastive_loss
from medgrad_desktop.training.metrics import classification_metrics, fit_temperature, softmax
from medgrad_desktop.training.split import check_no_leak, split_by_lesion


def _records(lesions: list[int]) -> list[Record]:
    return [
        Record(path=Path(f"img{i}.png"), label="melanoma", caption="melanoma", lesion_id=f"L{lid}")
        for i, lid in enumerate(lesions)
    ]


@settings(max_examples=40, deadline=None)
@given(
    st.lists(st.integers(0, 30), min_size=1, max_size=120),
    st.integers(0, 10_000),
    st.floats(0, 0.45),
    st.floats(0, 0.45),
)
def test_no_lesion_on_both_sides_of_a_split(lesions, seed, val, test):
    recs = _records(lesions)
    splits = split_by_lesion(recs, val, test, seed)
    assert sum(len(v) for v in splits.values()) == len(recs)
    sides = [{r.lesion_id for r in v} for v in splits.values()]
    assert not (sides[0] & sides[1]) and not (sides[0] & sides[2]) and not (sides[1] & sides[2])
    assert split_by_lesion(recs, val, test, seed) == splits  # deterministic by seed


def test_split_respects_dataset_splits_and_detects_leaks():
    recs = _records([1, 1, 2, 3])
    fixed = [Record(Path("x.png"), "melanoma", "melanoma", "L9", split="test")]
    splits = split_by_lesion(recs + fixed, 0.25, 0.0, 0)
    assert fixed[0] in splits["test"]
    with pytest.raises(ValueError, match="both"):
        check_no_leak({"train": _records([1]), "val": _records([1]), "test": []})


def test_contrastive_loss_is_clip_loss_for_unique_captions_and_shares_duplicates():
    torch.manual_seed(0)
    img = torch.nn.functional.normalize(torch.randn(6, 8), dim=-1)
    txt = torch.nn.functional.normalize(torch.randn(6, 8), dim=-1)
    scale = torch.tensor(10.0)
    caps = [f"c{i}" for i in range(6)]
    logits = scale * img @ txt.T
    ref = 0.5 * (
        torch.nn.functional.cross_entropy(logits, torch.arange(6))
        + torch.nn.functional.cross_entropy(logits.T, torch.arange(6))
    )
    assert torch.allclose(contrastive_loss(img, txt, scale, caption_keys(caps, img.device)), ref)
    assert torch.allclose(contrastive_loss(img, txt, scale), ref)
    # repeated captions share the target mass: check against the soft-target formula written out
    dup = ["a", "a", "b", "c", "d", "e"]
    soft = torch.eye(6)
    soft[0, 1] = soft[1, 0] = 1.0
    soft = soft / soft.sum(1, keepdim=True)
    expect = 0.5 * (
        -(soft * logits.log_softmax(1)).sum(1).mean() - (soft * logits.T.log_softmax(1)).sum(1).mean()
    )
    assert torch.allclose(contrastive_loss(img, txt, scale, caption_keys(dup, img.device)), expect)


def test_fit_temperature_recovers_the_generating_temperature():
    rng = np.random.default_rng(0)
    true_logits = rng.normal(0, 2.0, (4000, 5))
    y = np.array([rng.choice(5, p=p) for p in softmax(true_logits)])
    t = fit_temperature(true_logits * 3.0, y)  # overconfident by 3x
    assert 2.7 < t < 3.3
    m = classification_metrics(softmax(true_logits * 3.0 / t), y, [f"c{i}" for i in range(5)])
    m_raw = classification_metrics(softmax(true_logits * 3.0), y, [f"c{i}" for i in range(5)])
    assert m["ece"] < m_raw["ece"]


def test_metrics_by_hand():
    probs = np.array([[0.9, 0.1, 0.0], [0.2, 0.8, 0.0], [0.6, 0.4, 0.0], [0.1, 0.2, 0.7]])
    y = np.array([0, 1, 1, 2])
    m = classification_metrics(probs, y, ["a", "b", "c"])
    assert m["accuracy"] == 0.75
    assert m["per_class"]["a"] == {"precision": 0.5, "recall": 1.0, "f1": pytest.approx(2 / 3), "support": 1}
    assert m["balanced_accuracy"] == pytest.approx((1 + 0.5 + 1) / 3)
    assert m["confusion_matrix"] == [[1, 0, 0], [1, 1, 0], [0, 0, 1]]


@pytest.fixture(scope="module")
def tiny_data(tmp_path_factory) -> Path:
    from medgrad_desktop.data.synth import SynthConfig
    from medgrad_desktop.data.synth_io import write_dataset

    out = tmp_path_factory.mktemp("synth")
    write_dataset(
        out,
        16,
        seed=21,
        config=SynthConfig(size=64, counterfactual=False, classes=("melanoma", "basal_cell_carcinoma")),
    )
    return out


def _cfg(data: Path, out: Path, **kw):
    from medgrad_desktop.training.trainer import TrainConfig

    base = dict(
        data=[str(data)],
        out=str(out),
        random_init=True,
        architecture="MedGrad-Tiny",
        epochs=1,
        batch_size=8,
        lr=1e-4,
        optimizer="adamw",
        weight_decay=0.0,
        val_fraction=0.25,
        test_fraction=0.0,
        patience=0,
        progress=False,
        class_loss_weight=1.0,
        criteria_loss_weight=0.5,
        max_rotation=0.0,
        flip=False,
    )
    base.update(kw)
    return TrainConfig(**base)


def test_tiny_training_run_loss_falls(tiny_data, tmp_path):
    from medgrad_desktop.training.trainer import Trainer

    # no augmentation and every epoch covers all 16 images once, so the epoch losses are comparable
    tr = Trainer(_cfg(tiny_data, tmp_path / "run", epochs=4, batch_size=4, lr=5e-4, val_fraction=0.0))
    tr.fit()
    losses = [h["train_loss"] for h in tr.history]
    assert [h["epoch"] for h in tr.history] == [1, 2, 3, 4]
    assert losses[-1] < losses[0] - 0.3, losses
    assert all(np.isfinite(losses))


def test_checkpoint_each_epoch_resume_and_card(tiny_data, tmp_path):
    from medgrad_desktop.core.model import load_model
    from medgrad_desktop.core.ood import CHOSEN_METHOD
    from medgrad_desktop.training.trainer import Trainer, train

    out = tmp_path / "run"
    first = train(_cfg(tiny_data, out, epochs=1, max_steps_per_epoch=1))
    assert (out / "checkpoints" / "last.safetensors").is_file() and (
        out / "checkpoints" / "state.pt"
    ).is_file()
    assert len(first.history) == 1
    resumed = Trainer(_cfg(tiny_data, out, epochs=2, max_steps_per_epoch=1, resume=True))
    assert resumed.start_epoch == 1 and resumed.step == 1
    result = resumed.fit()
    assert [h["epoch"] for h in result.history] == [1, 2]
    clip = load_model(result.model_path, device="cpu")
    assert clip.catalogue.class_ids == ["basal_cell_carcinoma", "melanoma"]
    # the out-of-distribution statistics beside the weights, of these weights, thresholds from validation
    assert result.model_path.with_suffix(".ood.npz").is_file() and clip.ood is not None
    assert "validation split" in clip.card.ood["source"] and clip.card.ood["method"] == CHOSEN_METHOD
    assert [c.id for c in clip.catalogue.criteria][:2] == ["pigment_network", "blue_whitish_veil"]
    card = json.loads(result.model_path.with_suffix(".card.json").read_text())
    for key in (
        "architecture",
        "mean",
        "std",
        "temperature",
        "training_manifest_sha256",
        "split_seed",
        "metrics",
        "date",
        "app_version",
        "intended_use",
        "catalogue_data",
        "prompts",
    ):
        assert key in card, key
    assert card["temperature"] > 0 and clip.card.temperature == card["temperature"]
    split = json.loads((out / "split.json").read_text())
    assert not set(split["train"]) & set(split["val"])
    # every file of the run was written through a temporary and renamed: none is left behind
    assert not [p.name for p in out.rglob("*") if p.name.endswith(".tmp")]


def test_criteria_synonyms_are_drawn_per_step_the_same_way_every_run(tiny_data, tmp_path):
    from medgrad_desktop.training.trainer import Trainer

    syn = {"blue_whitish_veil:present": ["blue-white veil", "bluish-white veil"]}
    a = Trainer(_cfg(tiny_data, tmp_path / "a", criteria_synonyms=syn))
    b = Trainer(_cfg(tiny_data, tmp_path / "b", criteria_synonyms=syn))
    drawn_a, drawn_b = [], []
    for step in range(60):
        a.step = b.step = step
        drawn_a.append(a._criterion_prompt("blue_whitish_veil", "present"))
        drawn_b.append(b._criterion_prompt("blue_whitish_veil", "present"))
    assert drawn_a == drawn_b
    assert any("blue-white veil" in p for p in drawn_a) and any("bluish-white veil" in p for p in drawn_a)
    assert any("blue-whitish veil" in p for p in drawn_a)  # the catalogue's own phrase stays in the pool
    # options without synonyms keep the catalogue templates in turn
    seen = set()
    for step in range(3):
        a.step = step
        seen.add(a._criterion_prompt("streaks", "absent"))
    assert seen == set(a.catalogue.criterion_target("streaks", "absent").prompts)


def test_balanced_option_weights_make_each_option_count_equally():
    from medgrad_desktop.training.loss import balanced_option_weights

    w = balanced_option_weights([90, 9, 1, 0])
    assert w[3] == 1.0  # never seen: no target carries it
    counts = [90, 9, 1]
    assert np.allclose(
        [c * x for c, x in zip(counts, w, strict=False)], 100 / 3
    )  # each option's total weight


def test_balanced_criteria_loss_weights_the_rare_option(tiny_data, tmp_path):
    """With `criteria_balanced` a wrong answer on a rare option costs more than on the common one; the
    loss of the whole batch changes accordingly, and without the flag nothing is weighted."""
    import torch

    from medgrad_desktop.training.trainer import Trainer

    plain = Trainer(_cfg(tiny_data, tmp_path / "plain"))
    balanced = Trainer(_cfg(tiny_data, tmp_path / "bal", criteria_balanced=True))
    assert plain.criteria_weights == {}
    recs = balanced.splits["train"]
    for crit in balanced.catalogue.criteria:
        w = balanced.criteria_weights[crit.id].tolist()
        counts = [sum(1 for r in recs if r.criteria.get(crit.id) == o.id) for o in crit.options]
        seen = [(c, x) for c, x in zip(counts, w, strict=True) if c]
        assert max(x for _, x in seen) == next(x for c, x in seen if c == min(c for c, _ in seen))
    # a batch where some criterion has two options: only then can a weighted mean differ from the plain one
    assert any(len({r.criteria.get(c.id) for r in recs}) > 1 for c in balanced.catalogue.criteria)
    torch.manual_seed(0)
    img = torch.nn.functional.normalize(torch.randn(len(recs), plain.model.visual.output_dim), dim=-1)
    n_opts = sum(len(c.options) for c in plain.catalogue.criteria)
    emb = torch.nn.functional.normalize(torch.randn(n_opts, img.shape[1]), dim=-1)
    scale = torch.tensor(10.0)
    a = plain._criteria_loss(img, recs, scale, emb)
    b = balanced._criteria_loss(img, recs, scale, emb)
    assert torch.isfinite(a) and torch.isfinite(b) and abs(float(a) - float(b)) > 1e-4


def test_select_on_accuracy_keeps_the_most_accurate_epoch(tiny_data, tmp_path):
    """The selection score is the validation loss by default and minus the validation accuracy with
    `select_on="accuracy"`; an unknown choice is refused."""
    import pytest as _pytest

    from medgrad_desktop.training.trainer import Trainer

    by_loss = Trainer(_cfg(tiny_data, tmp_path / "loss"))
    by_acc = Trainer(_cfg(tiny_data, tmp_path / "acc", select_on="accuracy"))
    val = {"loss": 2.0, "accuracy": 0.75}
    assert by_loss._selection_score(2.0, val) == 2.0
    assert by_acc._selection_score(2.0, val) == -0.75
    assert by_acc._selection_score(2.0, {}) == 2.0  # no validation split: the training loss
    # an epoch with a higher loss but a better accuracy wins under "accuracy" only
    worse_loss_better_acc = {"loss": 2.5, "accuracy": 0.9}
    assert by_acc._selection_score(2.5, worse_loss_better_acc) < by_acc._selection_score(2.0, val)
    assert by_loss._selection_score(2.5, worse_loss_better_acc) > by_loss._selection_score(2.0, val)
    with _pytest.raises(ValueError, match="select_on"):
        Trainer(_cfg(tiny_data, tmp_path / "bad", select_on="f1"))


def test_freeze_options(tiny_data, tmp_path):
    from medgrad_desktop.training.trainer import Trainer

    tr = Trainer(_cfg(tiny_data, tmp_path / "f", freeze_image=True))
    before = {k: v.clone() for k, v in tr.model.state_dict().items()}
    tr.fit()
    after = tr.model.state_dict()
    assert torch.equal(before["visual.conv1.weight"], after["visual.conv1.weight"])
    assert not torch.equal(before["token_embedding.weight"], after["token_embedding.weight"])


def test_cli_train_requires_weights_or_random_init(tiny_data, tmp_path, capsys):
    from medgrad_desktop.cli import main

    assert main(["train", str(tiny_data), "--out", str(tmp_path / "o")]) == 2
    assert "--random-init" in capsys.readouterr().err


@pytest.mark.slow
def test_one_step_on_real_vit_b16_random_init(tiny_data, tmp_path):
    from medgrad_desktop.training.trainer import Trainer

    tr = Trainer(
        _cfg(
            tiny_data,
            tmp_path / "vit",
            architecture="ViT-B-16",
            batch_size=4,
            lr=1e-5,
            optimizer="adam",
            weight_decay=0.2,
            max_steps_per_epoch=1,
            val_fraction=0.0,
            criteria_loss_weight=0.0,
            class_loss_weight=0.0,
        )
    )
    w0 = tr.model.visual.conv1.weight.detach().clone()
    tr.fit()
    assert not torch.equal(w0, tr.model.visual.conv1.weight)
    assert tr.history[0]["train_loss"] > 0


def test_phrase_rank_loss_is_low_when_images_with_the_finding_rank_first():
    """The pairwise logistic loss falls as every image showing a finding scores above every image that
    states its absence; images that do not state the criterion, and findings without both kinds, add
    nothing."""
    import torch

    from medgrad_desktop.training.loss import phrase_rank_loss

    present = torch.tensor([[True, True], [True, False], [False, False], [False, False]])
    stated = torch.tensor([[True, True], [True, True], [True, True], [False, True]])
    good = torch.tensor([[0.9, 0.0], [0.8, 0.0], [0.1, 0.0], [0.95, 0.0]])  # finding 0 ranked right
    bad = torch.tensor([[0.1, 0.0], [0.2, 0.0], [0.9, 0.0], [-1.0, 0.0]])  # ranked wrong
    scale = torch.tensor(10.0)
    first = (slice(None), slice(0, 1))
    lo = phrase_rank_loss(good[first], present[first], stated[first], scale)
    hi = phrase_rank_loss(bad[first], present[first], stated[first], scale)
    assert float(lo) < 0.01 and float(hi) > 5
    # finding 1 (all tied at 0): log 2 per pair; the loss is the mean over findings
    both = phrase_rank_loss(good, present, stated, scale)
    assert float(both) == pytest.approx((float(lo) + np.log(2)) / 2, rel=1e-5)
    # image 3 (criterion not stated) changes nothing, though it scores highest
    assert float(lo) == float(phrase_rank_loss(good[:3, :1], present[:3, :1], stated[:3, :1], scale))
    nothing = phrase_rank_loss(good, torch.zeros_like(present), stated, scale)  # no positives at all
    assert float(nothing) == 0.0
    sims = bad.clone().requires_grad_(True)
    phrase_rank_loss(sims, present, stated, scale).backward()
    assert sims.grad[0, 0] < 0 < sims.grad[2, 0]  # descent raises the positive, lowers the negative
    assert sims.grad[3, 0] == 0


def test_phrase_rank_loss_joins_the_step_with_training_wordings_only(tiny_data, tmp_path):
    """With a weight, each step draws one training wording per finding (seeded, the same every run, never
    a held-out phrasing) and the step's loss grows by the ranking term."""
    import torch

    from medgrad_desktop.data.synth import FINDING_PHRASES, HELD_OUT_PHRASES
    from medgrad_desktop.training.trainer import Trainer

    syn = {f"{c}:{o}": list(p) for (c, o), p in FINDING_PHRASES.items()}
    plain = Trainer(_cfg(tiny_data, tmp_path / "a", criteria_synonyms=syn, class_loss_weight=0.0))
    ranked = Trainer(
        _cfg(
            tiny_data, tmp_path / "b", criteria_synonyms=syn, class_loss_weight=0.0, phrase_rank_loss_weight=1
        )
    )
    again = Trainer(
        _cfg(
            tiny_data, tmp_path / "c", criteria_synonyms=syn, class_loss_weight=0.0, phrase_rank_loss_weight=1
        )
    )
    assert ranked._finding_wordings() == again._finding_wordings()
    drawn = set()
    for step in range(40):
        ranked.step = step
        pairs = ranked._finding_wordings()
        assert [k for k, _ in pairs] == sorted(syn)
        drawn |= {w for _, w in pairs}
    assert drawn <= {w for ws in syn.values() for w in ws} and not drawn & set(HELD_OUT_PHRASES)
    assert len(drawn) > len(syn)  # more than one wording per finding over the steps
    ranked.step = plain.step = 0
    ranked.model.load_state_dict(plain.model.state_dict())
    idx = np.arange(len(plain.train_ds))  # both classes, so findings have images with and without
    torch.manual_seed(0)
    with torch.no_grad():
        a = float(plain._forward_step(idx))
        b = float(ranked._forward_step(idx))
    assert b > a and np.isfinite(b)


def test_demo_choice_keeps_the_installed_model_unless_the_challenger_scores_higher():
    from medgrad_desktop.training.demo_choice import SCORE_KEYS, choose, validation_score

    a = dict.fromkeys(SCORE_KEYS, 0.8)
    assert validation_score({**a, "balanced_accuracy": 0.5}) == pytest.approx(0.7)
    assert choose(a, dict(a)) == "incumbent"  # a tie keeps what is installed
    assert choose(a, {**a, "phrase_auroc_mean": 0.83}) == "challenger"
    assert choose(a, {**a, "phrase_auroc_mean": 0.9, "balanced_accuracy": 0.6}) == "incumbent"
    # with a shifted validation set, its balanced accuracy is a fourth figure of the mean
    assert validation_score({**a, "shifted_balanced_accuracy": 0.4}) == pytest.approx(0.7)
    assert choose({**a, "shifted_balanced_accuracy": 0.7}, {**a, "shifted_balanced_accuracy": 0.75}) == (
        "challenger"
    )


def test_photometric_augmentation_changes_light_not_colour_and_is_off_by_default():
    from medgrad_desktop.training.augment import augment

    img = np.zeros((32, 32, 3), np.uint8)
    img[..., 0], img[..., 1], img[..., 2] = 90, 120, 200  # bluish skin
    img[8:16, 8:16] = (200, 40, 40)  # a red spot
    used = np.random.default_rng(3)
    a = augment(img, used, 0.0, False)
    assert np.array_equal(a, img)  # off: nothing changes, and no random number is drawn for it
    assert used.random() == np.random.default_rng(3).random()
    outs = [augment(img, np.random.default_rng(s), 0.0, False, photometric_p=1.0) for s in range(20)]
    assert any(not np.array_equal(o, img) for o in outs)
    means = [o.mean() for o in outs]
    assert min(means) < img.mean() * 0.8 and max(means) > img.mean() * 0.95  # darker and lighter draws
    for o in outs:  # the hue order of each region stays: blue skin stays blue, the red spot red
        b = o[0, 0].astype(int)
        r = o[10, 10].astype(int)
        assert b[2] >= b[1] >= b[0] and r[0] >= r[1] and r[0] >= r[2]
    again = augment(img, np.random.default_rng(7), 0.0, False, photometric_p=1.0)
    assert np.array_equal(again, augment(img, np.random.default_rng(7), 0.0, False, photometric_p=1.0))
