"""Statistics of a model's training images for its out-of-distribution check (`core.ood`), written
beside the weights as `<weights stem>.ood.npz`.

The reference embeddings, class means and shared covariance come from the training split; every
candidate's threshold is the `core.ood.PERCENTILE` percentile of the scores of the validation split,
images of the same data the weights were not fitted on, so an in-distribution image is flagged about
(100 - percentile) % of the time and no out-of-distribution image ever sets a threshold. Without a
validation split a tenth of the training lesions is held out here instead. Images are embedded exactly
as the app embeds them (the loaded weights, `ClipModel.batch`, `embed_images`, no augmentation), so a
training image scores here as it would in the app.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

from medgrad_desktop.core.classify import class_logits
from medgrad_desktop.core.embedding import embed_images
from medgrad_desktop.core.imageio import load_image
from medgrad_desktop.core.model import ClipModel
from medgrad_desktop.core.ood import (
    CHOSEN_METHOD,
    KNN_K,
    METHODS,
    PERCENTILE,
    OodStats,
    all_scores,
    stats_path,
)
from medgrad_desktop.data.records import Record
from medgrad_desktop.training.split import split_by_lesion

HOLDOUT_FRACTION = 0.1  # of the training lesions, for the thresholds, when there is no validation split


@torch.no_grad()
def embed_records(
    clip: ClipModel,
    records: list[Record],
    batch_size: int = 64,
    progress: Callable[[int, int], None] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Normalized embeddings (N, E) float32 and class logits (N, C) of the records' images."""
    feats, logits = [], []
    for i in range(0, len(records), batch_size):
        chunk = records[i : i + batch_size]
        x, _ = clip.batch([load_image(r.path).rgb for r in chunk])
        f = embed_images(clip.model, x)
        feats.append(f.cpu().numpy().astype(np.float32))
        logits.append(class_logits(clip, f))
        if progress:
            progress(min(i + batch_size, len(records)), len(records))
    if not feats:
        raise ValueError("no images to embed")
    return np.concatenate(feats), np.concatenate(logits)


def fit_stats(
    fit_feats: np.ndarray,
    fit_labels: list[str] | None,
    cal_feats: np.ndarray,
    cal_logits: np.ndarray,
    *,
    weights_sha256: str,
    source: str,
    method: str = CHOSEN_METHOD,
    percentile: float = PERCENTILE,
    k: int = KNN_K,
) -> OodStats:
    """Class means and a Ledoit-Wolf shared covariance of the within-class residuals (one class when
    `fit_labels` is None), the fit embeddings as the k-NN reference, and each method's threshold at
    `percentile` of the held-out scores."""
    from sklearn.covariance import LedoitWolf  # only where statistics are made, never in the app

    if method not in METHODS:
        raise ValueError(f"unknown out-of-distribution method '{method}'; choose one of {', '.join(METHODS)}")
    if len(fit_feats) < 2 or len(cal_feats) < 1:
        raise ValueError(
            f"{len(fit_feats)} fit and {len(cal_feats)} held-out images: too few for out-of-distribution statistics"
        )
    f = np.asarray(fit_feats, dtype=np.float64)
    labels = np.asarray(fit_labels if fit_labels is not None else [""] * len(f))
    classes = sorted(set(labels.tolist()))
    means = np.stack([f[labels == c].mean(axis=0) for c in classes])
    resid = f - means[np.searchsorted(classes, labels)]
    precision = LedoitWolf(assume_centered=True).fit(resid).precision_
    stats = OodStats(
        method=method,
        percentile=float(percentile),
        k=int(k),
        thresholds={},
        reference=np.asarray(fit_feats, dtype=np.float32),
        class_means=means,
        precision=precision,
        weights_sha256=weights_sha256,
        source=source,
    )
    stats.calibration_scores = all_scores(stats, cal_feats, cal_logits)
    stats.thresholds = {m: float(np.percentile(s, percentile)) for m, s in stats.calibration_scores.items()}
    return stats


def write_stats(
    clip: ClipModel,
    train: list[Record],
    val: list[Record],
    *,
    method: str = CHOSEN_METHOD,
    percentile: float = PERCENTILE,
    k: int = KNN_K,
    max_fit: int | None = None,
    seed: int = 0,
    log: Callable[[str], None] = lambda _m: None,
    what: str = "training",
) -> Path:
    """Embed the training and held-out images and write the statistics beside `clip`'s weights file.
    `max_fit` draws that many training images (seeded) when all would take too long; `what` names the
    data in the file's description."""
    if not clip.card.weights_path:
        raise ValueError("the model has no weights file to write statistics beside")
    held_out = "validation split"
    if not val:
        parts = split_by_lesion(train, HOLDOUT_FRACTION, 0.0, seed)
        train, val = parts["train"], parts["val"]
        held_out = f"{HOLDOUT_FRACTION:.0%} of the training lesions, held out here"
    if len(train) < 2 or not val:
        raise ValueError(
            f"{len(train)} training and {len(val)} held-out images: too few for out-of-distribution statistics"
        )
    n_all = len(train)
    if max_fit is not None and max_fit < len(train):
        idx = np.sort(np.random.default_rng(seed).choice(len(train), max_fit, replace=False))
        train = [train[i] for i in idx]
    step = max(1, (len(train) + len(val)) // 10)

    def progress(done: int, total: int) -> None:
        if done % step < 64 or done == total:
            log(f"embedded {done}/{total} images")

    fit_feats, _ = embed_records(clip, train, progress=progress)
    cal_feats, cal_logits = embed_records(clip, val, progress=progress)
    subset = f"{len(train)} drawn (seed {seed}) of the {n_all}" if len(train) < n_all else f"the {n_all}"
    source = (
        f"{subset} {what}-split images; thresholds at the {percentile:g}th percentile of the scores of "
        f"{len(val)} images of the {held_out}"
    )
    stats = fit_stats(
        fit_feats,
        [r.label for r in train],
        cal_feats,
        cal_logits,
        weights_sha256=clip.card.weights_sha256,
        source=source,
        method=method,
        percentile=percentile,
        k=k,
    )
    path = stats.save(stats_path(clip.card.weights_path))
    log(f"wrote {path} ({source}; method {method}, threshold {stats.thresholds[method]:.4g})")
    return path
