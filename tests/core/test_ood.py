"""The out-of-distribution check: scores against scikit-learn and by hand, thresholds from held-out
scores only, the statistics file (round trip, fixed bytes, no pickle, refused for other weights), the
loader and classify carrying the result, the store keeping it, and `medgrad predict --json` on the
bundled demo model: a HAM10000 photo and a noise image flagged, a synthetic training-setting image not."""

from __future__ import annotations

import dataclasses
import json
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from medgrad_desktop.core.ood import METHODS, OodStats, file_sha256, load_check, score, stats_path
from medgrad_desktop.core.prediction import NO_OOD_CHECK_TEXT, OOD_FLAG_TEXT, OodResult
from medgrad_desktop.data.records import Record
from medgrad_desktop.resources_path import resources_dir
from medgrad_desktop.training.ood_stats import fit_stats, write_stats

DEMO_WEIGHTS = resources_dir() / "demo" / "model" / "demo-model.safetensors"


def _unit(x: np.ndarray) -> np.ndarray:
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def _clusters(rng: np.random.Generator, n: int, centres: np.ndarray, spread: float = 0.15):
    labels = rng.integers(0, len(centres), n)
    return _unit(centres[labels] + spread * rng.normal(size=(n, centres.shape[1]))).astype(np.float32), labels


@pytest.fixture
def fitted(rng):
    centres = rng.normal(size=(3, 16))
    fit, labels = _clusters(rng, 600, centres)
    cal, _ = _clusters(rng, 200, centres)
    cal_logits = 10 * cal.astype(np.float64) @ _unit(centres).T
    stats = fit_stats(
        fit,
        [f"c{i}" for i in labels],
        cal,
        cal_logits,
        weights_sha256="w" * 64,
        source="test",
        k=5,
        method="knn",
    )
    return stats, centres


def test_knn_score_is_sklearn_kth_neighbour_distance(fitted, rng):
    from sklearn.neighbors import NearestNeighbors

    stats, _ = fitted
    q = _unit(rng.normal(size=(7, 16))).astype(np.float32)
    dist, _ = NearestNeighbors(n_neighbors=stats.k).fit(stats.reference).kneighbors(q)
    np.testing.assert_allclose(score(stats, "knn", q, np.zeros((7, 3))), dist[:, -1], atol=1e-5)


def test_mahalanobis_score_is_sklearn_ledoit_wolf_for_one_class(rng):
    from sklearn.covariance import LedoitWolf

    fit = _unit(rng.normal(size=(300, 8)) + 2.0).astype(np.float32)
    q = _unit(rng.normal(size=(5, 8))).astype(np.float32)
    stats = fit_stats(
        fit, None, fit[:20], np.zeros((20, 2)), weights_sha256="", source="", method="mahalanobis"
    )
    expect = LedoitWolf().fit(fit.astype(np.float64)).mahalanobis(q.astype(np.float64))
    np.testing.assert_allclose(score(stats, "mahalanobis", q, np.zeros((5, 2))), expect, rtol=1e-6)


def test_block_token_scores_are_sklearn_ledoit_wolf_distances(rng):
    from sklearn.covariance import LedoitWolf

    blocks = [rng.normal(size=(400, 6)) + i for i in range(3)]
    cal = [rng.normal(size=(50, 6)) + i for i in range(3)]
    q = [rng.normal(size=(4, 6)) + i for i in range(3)]
    feats = _unit(rng.normal(size=(400, 5))).astype(np.float32)
    stats = fit_stats(
        feats,
        None,
        feats[:50],
        np.zeros((50, 2)),
        fit_tokens=blocks,
        cal_tokens=cal,
        weights_sha256="",
        source="",
    )
    per_layer = [LedoitWolf().fit(b).mahalanobis(t) for b, t in zip(blocks, q, strict=True)]
    medians = [np.median(LedoitWolf().fit(b).mahalanobis(c)) for b, c in zip(blocks, cal, strict=True)]
    none = np.zeros((4, 5)), np.zeros((4, 2))
    np.testing.assert_allclose(score(stats, "tokens", *none, q), per_layer[-1], rtol=1e-4)
    layers = sum(d / m for d, m in zip(per_layer, medians, strict=True))
    np.testing.assert_allclose(score(stats, "layers", *none, q), layers, rtol=1e-4)
    with pytest.raises(ValueError, match="needs the mean patch token"):
        score(stats, "tokens", *none, None)


def test_block_token_means_from_the_classifying_forward_leave_no_hook(tiny_model):
    import torch

    from medgrad_desktop.core.embedding import block_token_means, embed_images, image_blocks
    from medgrad_desktop.core.explain.hooks import live_hook_count

    rgbs = [np.random.default_rng(i).integers(0, 256, (40, 40, 3), dtype=np.uint8) for i in range(2)]
    x, _ = tiny_model.batch(rgbs)
    with torch.no_grad(), block_token_means(tiny_model.model) as means:
        f = embed_images(tiny_model.model, x)
    assert live_hook_count(tiny_model.model) == 0
    blocks = image_blocks(tiny_model.model)
    assert len(means) == len(blocks) and all(
        m.shape == (2, blocks[0].ln_1.normalized_shape[0]) for m in means
    )
    with torch.no_grad():  # the last block's mean patch token, recomputed by hand
        v = tiny_model.model.visual
        t = v.transformer(v._embeds(x))  # patch embedding, class token, positions, ln_pre
    torch.testing.assert_close(means[-1], t[:, 1:].mean(1).float())
    torch.testing.assert_close(f, embed_images(tiny_model.model, x))  # the hooks change nothing


def test_msp_and_energy_by_hand():
    logits = np.array([[2.0, 0.0, 0.0], [1.0, 1.0, 1.0]])
    p = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
    stats = OodStats(
        "msp", 99.0, 1, {"msp": 0.0}, np.zeros((1, 2), np.float32), np.zeros((1, 2)), np.eye(2), "", ""
    )
    np.testing.assert_allclose(score(stats, "msp", np.zeros((2, 2)), logits), -p.max(1))
    np.testing.assert_allclose(
        score(stats, "energy", np.zeros((2, 2)), logits), -np.log(np.exp(logits).sum(1))
    )
    with pytest.raises(ValueError, match="unknown"):
        score(stats, "odin", np.zeros((2, 2)), logits)


def test_thresholds_are_the_held_out_percentile_and_far_points_are_flagged(fitted, rng):
    stats, centres = fitted
    assert set(stats.thresholds) == set(METHODS) - {"tokens", "layers"}  # fitted without block tokens
    for m in stats.thresholds:
        assert stats.thresholds[m] == pytest.approx(np.percentile(stats.calibration_scores[m], 99.0))
    near, _ = _clusters(rng, 400, centres)
    far = _unit(rng.normal(size=(100, 16))).astype(np.float32)
    for m in ("mahalanobis", "knn"):
        assert np.mean(score(stats, m, near, np.zeros((400, 3))) > stats.thresholds[m]) < 0.05
        assert np.mean(score(stats, m, far, np.zeros((100, 3))) > stats.thresholds[m]) > 0.95


def test_statistics_file_round_trip_fixed_bytes_and_no_pickle(fitted, tmp_path):
    stats, _ = fitted
    a = stats.save(tmp_path / "a.ood.npz")
    b = stats.save(tmp_path / "b.ood.npz")
    assert file_sha256(a) == file_sha256(b)  # same statistics, same SHA-256
    back = OodStats.load(a)
    assert back.method == stats.method and back.thresholds == stats.thresholds and back.k == stats.k
    np.testing.assert_array_equal(back.reference, stats.reference)
    np.testing.assert_array_equal(back.precision, stats.precision)
    with np.load(a, allow_pickle=False) as z:  # plain arrays only
        assert {"reference", "thresholds", "weights_sha256"} <= set(z.files)


def test_load_check_says_why_there_is_none(fitted, tmp_path):
    stats, _ = fitted
    weights = tmp_path / "m.safetensors"
    check, info = load_check(weights, "w" * 64)
    assert check is None and "no statistics file" in info["reason"]
    stats.save(stats_path(weights))
    check, info = load_check(weights, "x" * 64)
    assert check is None and "other weights" in info["reason"]
    check, info = load_check(weights, "w" * 64)
    assert check is not None and info["method"] == stats.method
    assert info["stats_sha256"] == file_sha256(stats_path(weights))
    stats_path(weights).write_bytes(b"not a zip")
    check, info = load_check(weights, "w" * 64)
    assert check is None and "not a readable statistics file" in info["reason"]


def _records(folder: Path, n: int, seed: int) -> list[Record]:
    folder.mkdir(parents=True, exist_ok=True)
    out = []
    for i in range(n):
        rgb = np.random.default_rng([seed, i]).integers(90, 170, (48, 48, 3), dtype=np.uint8)
        Image.fromarray(rgb).save(folder / f"{i}.png")
        out.append(Record(folder / f"{i}.png", "melanoma", "melanoma", f"L{i}"))
    return out


def test_model_with_statistics_flags_in_predictions_card_and_store(tmp_path, tiny_model):
    from medgrad_desktop.core.checkpoint import save_checkpoint
    from medgrad_desktop.core.classify import classify
    from medgrad_desktop.core.explain import analyze_batch
    from medgrad_desktop.core.model import load_model
    from medgrad_desktop.store.codec import decode_prediction, encode_prediction

    weights = save_checkpoint(
        tiny_model.model, tmp_path / "m.safetensors", {"name": "m", "architecture": "MedGrad-Tiny"}
    )
    bare = load_model(weights, device="cpu")
    assert bare.ood is None and bare.card.ood_note.startswith(NO_OOD_CHECK_TEXT)
    pred = classify(bare, [np.zeros((32, 32, 3), np.uint8)])[0]
    assert pred.ood is None and pred.ood_matches("")

    recs = _records(tmp_path / "imgs", 24, 0)
    write_stats(bare, recs[:16], recs[16:], method="knn", k=3)
    clip = load_model(weights, device="cpu")
    assert clip.ood is not None and clip.card.ood_checked and clip.card.ood_note == ""
    assert clip.card.to_dict()["ood"]["stats_sha256"] == file_sha256(stats_path(weights))
    assert "ood" not in json.loads(clip.card.to_json())  # the card file never holds it
    noise = np.random.default_rng(5).integers(0, 256, (64, 64, 3), dtype=np.uint8)
    like = np.asarray(Image.open(recs[0].path).convert("RGB"))
    p_noise, p_like = classify(clip, [noise, like])
    assert p_noise.ood.flagged and not p_like.ood.flagged
    assert p_noise.ood.stats_sha256 == clip.card.ood_stats_sha256 and p_noise.ood.method == "knn"
    assert decode_prediction(encode_prediction(p_noise)) == p_noise
    # the block-token method: the same result from classify and from the explain engine's forward
    write_stats(clip, recs[:16], recs[16:], method="tokens")
    tok = load_model(weights, device="cpu")
    assert tok.ood.needs_tokens and tok.card.ood["method"] == "tokens"
    from_classify = classify(tok, [noise, like])
    from_engine = [r.prediction for r in analyze_batch(tok, [noise, like], [], [])]
    assert [p.ood for p in from_classify] == [p.ood for p in from_engine]
    assert from_classify[0].ood.flagged and not from_classify[1].ood.flagged
    # a row stored before the check existed reads back unchecked and is not current for this model
    old = json.loads(zlib.decompress(encode_prediction(p_noise)))
    del old["ood"]
    back = decode_prediction(zlib.compress(json.dumps(old).encode()))
    assert back.ood is None and not back.ood_matches(clip.card.ood_stats_sha256)


def test_memo_makes_a_prediction_again_when_its_statistics_changed(tmp_path, tiny_model):
    from medgrad_desktop.core.classify import classify
    from medgrad_desktop.core.imageio import load_image
    from medgrad_desktop.store.memo import StoreMemo

    rec = _records(tmp_path / "imgs", 1, 3)[0]
    im = load_image(rec.path)
    pred = classify(tiny_model, [im.rgb])[0]
    memo = StoreMemo.open(True, tmp_path / "store.sqlite")
    memo.record(im, pred)
    sha = tiny_model.card.weights_sha256
    assert memo.prediction(im.sha256, sha) == pred
    assert memo.prediction(im.sha256, sha, "s" * 64) is None  # the model now has statistics
    flagged = OodResult("knn", 1.0, 0.5, True, "s" * 64)
    memo.record(im, dataclasses.replace(pred, ood=flagged))
    assert memo.prediction(im.sha256, sha, "s" * 64).ood == flagged
    assert memo.prediction(im.sha256, sha, "t" * 64) is None


@pytest.fixture(scope="module")
def demo_has_stats():
    if not stats_path(DEMO_WEIGHTS).exists():
        pytest.skip("the bundled demo model has no statistics file yet")


def test_cli_predict_json_flags_ham_and_noise_not_a_training_setting_image(tmp_path, ham_dir, demo_has_stats):
    import subprocess
    import sys

    import cv2

    from medgrad_desktop.data.non_dermoscopy import draw
    from medgrad_desktop.data.synth import render_sample
    from medgrad_desktop.data.synth_io import sample_seed
    from medgrad_desktop.training.make_demo import TRAIN_SETTING

    noise = tmp_path / "noise.png"
    cv2.imwrite(str(noise), draw("noise", 77, 0)[..., ::-1])
    synth = tmp_path / "synth.png"  # a seed no training, selection or test set uses
    cv2.imwrite(str(synth), render_sample(sample_seed(31337, 0), TRAIN_SETTING, label=3).image[..., ::-1])
    ham = sorted((ham_dir / "images").glob("*.jpg"))[0]
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "medgrad_desktop.cli",
            "predict",
            str(ham),
            str(noise),
            str(synth),
            "--json",
            "--no-store",
            "--device",
            "cpu",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    doc = json.loads(out.stdout)
    assert doc["model"]["ood"]["stats_sha256"] == file_sha256(stats_path(DEMO_WEIGHTS))
    rows = {Path(r["file"]).name: r["ood"] for r in doc["results"]}
    assert rows[ham.name]["flagged"] and rows[ham.name]["note"] == OOD_FLAG_TEXT
    assert rows["noise.png"]["flagged"]
    assert rows["synth.png"]["checked"] and not rows["synth.png"]["flagged"]
    assert rows["synth.png"]["score"] <= rows["synth.png"]["threshold"]


def test_cli_predict_says_once_when_the_model_has_no_check(tmp_path, tiny_model):
    import subprocess
    import sys

    from medgrad_desktop.core.checkpoint import save_checkpoint

    weights = save_checkpoint(
        tiny_model.model, tmp_path / "m.safetensors", {"name": "m", "architecture": "MedGrad-Tiny"}
    )
    imgs = [r.path for r in _records(tmp_path / "imgs", 2, 1)]
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "medgrad_desktop.cli",
            "predict",
            *map(str, imgs),
            "--weights",
            str(weights),
            "--no-store",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    assert out.stderr.count(NO_OOD_CHECK_TEXT) == 1
    assert "UNLIKE" not in out.stdout
