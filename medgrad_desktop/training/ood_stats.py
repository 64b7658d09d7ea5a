"""Statistics of a model's training images for its out-of-distribution check (`core.ood`), written
beside the weights as `<weights stem>.ood.npz`.

The reference embeddings, class means and shared covariance, and the mean and covariance of every
image-tower block's mean patch token, come from the training split; every
candidate's threshold is the `core.ood.PERCENTILE` percentile of the scores of the validation split,
images of the same data the weights were not fitted on, so an in-distribution image is flagged about
(100 - percentile) % of the time and no out-of-distribution image ever sets a threshold. Without a
validation split a tenth of the training lesions is held out here instead. Images are embedded exactly
as the app embeds them (the loaded weights, `ClipModel.batch`, `embed_images`, no augmentation), so a
training image scores here as it would in the app.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from medgrad_desktop.core.classify import class_logits
from medgrad_desktop.core.embedding import block_token_means, embed_images
from medgrad_desktop.core.imageio import load_image
from medgrad_desktop.core.model import ClipModel
from medgrad_desktop.core.ood import (
    CHOSEN_METHOD,
    KNN_K,
    METHODS,
    PERCENTILE,
    TOKEN_METHODS,
    OodStats,
    all_scores,
    layer_distance,
    stats_path,
)
from medgrad_desktop.data.records import Record
from medgrad_desktop.training.split import split_by_lesion

HOLDOUT_FRACTION = 0.1  # of the training lesions, for the thresholds, when there is no validation split


@dataclass
class Embedded:
    """What the check reads of a set of images: normalized embeddings (N, E) float32, class logits
    (N, C), and each block's mean patch token (L arrays of (N, W))."""

    feats: np.ndarray
    logits: np.ndarray
    tokens: list[np.ndarray]


@torch.no_grad()
def embed_images_for_check(clip: ClipModel, images: list[np.ndarray]) -> Embedded:
    """One batch of uint8 RGB images, through the forward `classify` runs."""
    x, _ = clip.batch(images)
    with block_token_means(clip.model) as means:
        f = embed_images(clip.model, x)
    return Embedded(
        f.cpu().numpy().astype(np.float32), class_logits(clip, f), [m.cpu().numpy() for m in means]
    )


def concat(parts: list[Embedded]) -> Embedded:
    return Embedded(
        np.concatenate([p.feats for p in parts]),
        np.concatenate([p.logits for p in parts]),
        [np.concatenate([p.tokens[i] for p in parts]) for i in range(len(parts[0].tokens))],
    )


def embed_records(
    clip: ClipModel,
    records: list[Record],
    batch_size: int = 64,
    progress: Callable[[int, int], None] | None = None,
) -> Embedded:
    parts = []
    for i in range(0, len(records), batch_size):
        parts.append(
            embed_images_for_check(clip, [load_image(r.path).rgb for r in records[i : i + batch_size]])
        )
        if progress:
            progress(min(i + batch_size, len(records)), len(records))
    if not parts:
        raise ValueError("no images to embed")
    return concat(parts)


def fit_stats(
    fit_feats: np.ndarray,
    fit_labels: list[str] | None,
    cal_feats: np.ndarray,
    cal_logits: np.ndarray,
    *,
    fit_tokens: list[np.ndarray] | None = None,
    cal_tokens: list[np.ndarray] | None = None,
    weights_sha256: str,
    source: str,
    method: str = CHOSEN_METHOD,
    percentile: float = PERCENTILE,
    k: int = KNN_K,
) -> OodStats:
    """Class means and a Ledoit-Wolf shared covariance of the within-class residuals (one class when
    `fit_labels` is None), the fit embeddings as the k-NN reference, each block's token mean and
    Ledoit-Wolf precision (when `fit_tokens` are given), and each method's threshold at `percentile` of
    the held-out scores."""
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
    if fit_tokens:
        stats.layer_means = np.stack([np.asarray(t, np.float64).mean(axis=0) for t in fit_tokens])
        stats.layer_precisions = np.stack(
            [LedoitWolf().fit(np.asarray(t, np.float64)).precision_.astype(np.float32) for t in fit_tokens]
        ).astype(np.float64)
        stats.layer_scales = np.array(
            [np.median(layer_distance(stats, i, cal_tokens)) for i in range(len(fit_tokens))]
        )
    elif method in TOKEN_METHODS:
        raise ValueError(f"'{method}' needs the blocks' mean patch tokens of the fit and held-out images")
    stats.calibration_scores = all_scores(stats, cal_feats, cal_logits, cal_tokens if fit_tokens else None)
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

    fit = embed_records(clip, train, progress=progress)
    cal = embed_records(clip, val, progress=progress)
    subset = f"{len(train)} drawn (seed {seed}) of the {n_all}" if len(train) < n_all else f"the {n_all}"
    source = (
        f"{subset} {what}-split images; thresholds at the {percentile:g}th percentile of the scores of "
        f"{len(val)} images of the {held_out}"
    )
    stats = fit_stats(
        fit.feats,
        [r.label for r in train],
        cal.feats,
        cal.logits,
        fit_tokens=fit.tokens,
        cal_tokens=cal.tokens,
        weights_sha256=clip.card.weights_sha256,
        source=source,
        method=method,
        percentile=percentile,
        k=k,
    )
    path = stats.save(stats_path(clip.card.weights_path))
    log(f"wrote {path} ({source}; method {method}, threshold {stats.thresholds[method]:.4g})")
    return path
