"""The out-of-distribution check: how unlike its training images an image is, judged from the model's
own outputs against statistics of those images stored beside the weights.

The statistics file `<weights stem>.ood.npz` (written by `medgrad train`, `make demo` and `medgrad
ood-stats`, `training/ood_stats.py`) holds the training images' normalized embeddings, their class means
and one shared precision matrix, the mean and precision of every image-tower block's mean patch token,
and, for every candidate score, the threshold at a fixed percentile of
the scores of held-out images of the training data (the validation split): thresholds never come from
out-of-distribution images. It names the method the check uses and the SHA-256 of the weights it was
computed for; a file made for other weights is not used. Its own SHA-256 goes into the card, so every
report names the statistics behind each flag.

Scores, higher meaning less like the training images:
  msp          minus the maximum softmax probability (Hendrycks & Gimpel 2017), the baseline
  energy       minus the logsumexp of the class logits as the app's classifier computes them (Liu et
               al. 2020)
  mahalanobis  the smallest squared Mahalanobis distance from the normalized image embedding to a
               training class mean, one shared covariance (Lee et al. 2018; Ledoit-Wolf shrinkage)
  knn          the Euclidean distance from the normalized embedding to its k-th nearest normalized
               training embedding (Sun et al. 2022)
  tokens       the Mahalanobis distance of the last block's mean patch token (before the final layer
               norm) to its training mean, one Ledoit-Wolf covariance
  layers       that distance for every block, each divided by its median over the held-out images,
               summed (the feature ensemble of Lee et al. 2018, unweighted)

The final embedding of a small model trained on one kind of image can map anything onto its classes
(measured for the demo model in docs/archive/OOD-ROUND1.md); the blocks' token statistics keep what it
discards. Scoring is a few numpy operations on what the classifying forward already computed (the block
means through forward hooks, `core.embedding.block_token_means`), so the check costs no second forward.
scikit-learn fits the covariance (`training/ood_stats.py`); its NearestNeighbors query was not used here
because its input checks and thread-pool set-up cost about 25 ms per call, five times the 5 ms budget,
for what is one matrix product and a partition (a test holds this to it).
"""

from __future__ import annotations

import hashlib
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from medgrad_desktop.atomic import write_atomic
from medgrad_desktop.core.prediction import OodResult

METHODS = ("msp", "energy", "mahalanobis", "knn", "tokens", "layers")
METHOD_NAMES = {
    "msp": "maximum softmax probability",
    "energy": "energy score",
    "mahalanobis": "Mahalanobis distance to the nearest class mean (shared covariance)",
    "knn": "distance to the k-th nearest training embedding",
    "tokens": "Mahalanobis distance of the last block's mean patch token",
    "layers": "Mahalanobis distances of every block's mean patch token, summed",
}
TOKEN_METHODS = ("tokens", "layers")  # they read the blocks' mean patch tokens
# the pre-registered choice (docs/TRUST.md, "Out-of-distribution check"); thresholds at this percentile
CHOSEN_METHOD = "layers"
PERCENTILE = 99.0
KNN_K = 10
FORMAT_VERSION = 1
SUFFIX = ".ood.npz"


class OodStatsError(Exception):
    """One line naming the statistics file and what is wrong with it."""


def stats_path(weights: Path | str) -> Path:
    """Where a weights file's statistics sit: beside it, as its card does (`demo-model.ood.npz`)."""
    return Path(weights).with_suffix(SUFFIX)


def file_sha256(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


@dataclass
class OodStats:
    method: str
    percentile: float
    k: int
    thresholds: dict[str, float]
    reference: np.ndarray  # (N, E) float32 normalized training embeddings
    class_means: np.ndarray  # (C, E) float64, one row per training class (one row when unlabelled)
    precision: np.ndarray  # (E, E) float64 inverse of the shared within-class covariance
    weights_sha256: str
    source: str  # which images, in words
    calibration_scores: dict[str, np.ndarray] = field(default_factory=dict)  # the held-out images' scores
    layer_means: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)))  # (L, W) per block
    layer_precisions: np.ndarray = field(default_factory=lambda: np.zeros((0, 0, 0), np.float32))  # (L, W, W)
    layer_scales: np.ndarray = field(default_factory=lambda: np.zeros(0))  # (L,) held-out medians

    @property
    def n_calibration(self) -> int:
        return len(next(iter(self.calibration_scores.values()), ()))

    def save(self, path: Path | str) -> Path:
        """An .npz of plain arrays (read back without pickle), its bytes a function of its contents
        only (fixed zip timestamps), so the same statistics give the same SHA-256."""
        methods = list(self.thresholds)
        arrays = {
            "format_version": np.array(FORMAT_VERSION),
            "method": np.array(self.method),
            "percentile": np.array(float(self.percentile)),
            "k": np.array(int(self.k)),
            "methods": np.array(methods),
            "thresholds": np.array([self.thresholds[m] for m in methods], dtype=np.float64),
            "reference": np.asarray(self.reference, dtype=np.float32),
            "class_means": np.asarray(self.class_means, dtype=np.float64),
            "precision": np.asarray(self.precision, dtype=np.float64),
            "weights_sha256": np.array(self.weights_sha256),
            "source": np.array(self.source),
            "calibration_scores": np.array(
                [self.calibration_scores[m] for m in methods] if self.calibration_scores else [],
                dtype=np.float64,
            ),
            "layer_means": np.asarray(self.layer_means, dtype=np.float64),
            "layer_precisions": np.asarray(self.layer_precisions, dtype=np.float32),
            "layer_scales": np.asarray(self.layer_scales, dtype=np.float64),
        }

        def write(f) -> None:
            with zipfile.ZipFile(f, "w", zipfile.ZIP_STORED) as z:
                for name, arr in arrays.items():
                    info = zipfile.ZipInfo(f"{name}.npy", date_time=(1980, 1, 1, 0, 0, 0))
                    with z.open(info, "w", force_zip64=True) as out:
                        np.lib.format.write_array(out, arr, allow_pickle=False)

        return write_atomic(path, write)

    @classmethod
    def load(cls, path: Path | str) -> OodStats:
        path = Path(path)
        try:
            with np.load(path, allow_pickle=False) as z:
                version = int(z["format_version"])
                if version != FORMAT_VERSION:
                    raise OodStatsError(
                        f"{path.name}: statistics format {version}, expected {FORMAT_VERSION}"
                    )
                methods = [str(m) for m in z["methods"]]
                cal = z["calibration_scores"]
                stats = cls(
                    method=str(z["method"]),
                    percentile=float(z["percentile"]),
                    k=int(z["k"]),
                    thresholds={m: float(t) for m, t in zip(methods, z["thresholds"], strict=True)},
                    reference=z["reference"].astype(np.float32),
                    class_means=z["class_means"].astype(np.float64),
                    precision=z["precision"].astype(np.float64),
                    weights_sha256=str(z["weights_sha256"]),
                    source=str(z["source"]),
                    calibration_scores={m: cal[i] for i, m in enumerate(methods)} if cal.size else {},
                    layer_means=z["layer_means"].astype(np.float64),
                    layer_precisions=z["layer_precisions"].astype(np.float64),
                    layer_scales=z["layer_scales"].astype(np.float64),
                )
        except OodStatsError:
            raise
        except (OSError, KeyError, ValueError, zipfile.BadZipFile, EOFError) as exc:
            raise OodStatsError(f"{path.name}: not a readable statistics file ({exc})") from None
        if stats.method not in stats.thresholds or stats.method not in METHODS:
            raise OodStatsError(f"{path.name}: names method '{stats.method}', which it has no threshold for")
        if stats.method in TOKEN_METHODS and not len(stats.layer_means):
            raise OodStatsError(f"{path.name}: names method '{stats.method}' but holds no block statistics")
        if stats.reference.ndim != 2 or stats.class_means.shape[1:] != stats.reference.shape[1:]:
            raise OodStatsError(f"{path.name}: embedding sizes disagree")
        return stats


def _logsumexp(logits: np.ndarray) -> np.ndarray:
    m = logits.max(axis=1, keepdims=True)
    return (m + np.log(np.exp(logits - m).sum(axis=1, keepdims=True)))[:, 0]


def layer_distance(stats: OodStats, layer: int, tokens: list[np.ndarray]) -> np.ndarray:
    d = np.asarray(tokens[layer], dtype=np.float64) - stats.layer_means[layer]
    return np.einsum("bw,bw->b", d @ stats.layer_precisions[layer], d)


def score(
    stats: OodStats,
    method: str,
    feats: np.ndarray,
    logits: np.ndarray,
    tokens: list[np.ndarray] | None = None,
) -> np.ndarray:
    """Scores (B,) of normalized embeddings `feats` (B, E) with class logits `logits` (B, C), the
    softmax of which is the prediction's probabilities, and `tokens`, each block's mean patch token
    (L arrays of (B, W)); higher is less like the training images."""
    if method in TOKEN_METHODS:
        if tokens is None or len(tokens) != len(stats.layer_means):
            raise ValueError(
                f"'{method}' needs the mean patch token of each of the {len(stats.layer_means)} blocks"
            )
        if method == "tokens":
            return layer_distance(stats, len(tokens) - 1, tokens)
        return sum(layer_distance(stats, i, tokens) / stats.layer_scales[i] for i in range(len(tokens)))
    if method == "msp":
        return -np.exp(logits.max(axis=1) - _logsumexp(logits))
    if method == "energy":
        return -_logsumexp(logits)
    f = np.asarray(feats, dtype=np.float64)
    if method == "mahalanobis":
        d = f[:, None, :] - stats.class_means[None]  # (B, C, E)
        return np.einsum("bce,bce->bc", d @ stats.precision, d).min(axis=1)
    if method == "knn":
        ref = stats.reference
        k = min(stats.k, len(ref))
        sims = np.asarray(feats, dtype=np.float32) @ ref.T  # cosine: both sides are unit vectors
        kth = np.partition(sims, len(ref) - k, axis=1)[:, len(ref) - k].astype(np.float64)
        return np.sqrt(np.maximum(0.0, 2.0 - 2.0 * kth))
    raise ValueError(f"unknown out-of-distribution method '{method}'; choose one of {', '.join(METHODS)}")


def all_scores(
    stats: OodStats, feats: np.ndarray, logits: np.ndarray, tokens: list[np.ndarray] | None = None
) -> dict[str, np.ndarray]:
    """Every candidate's scores; those that need the blocks' tokens only when `tokens` are given."""
    return {
        m: score(stats, m, feats, logits, tokens)
        for m in METHODS
        if tokens is not None or m not in TOKEN_METHODS
    }


class OodCheck:
    """A model's loaded statistics: flags each image whose score by the file's method is above its
    threshold."""

    def __init__(self, stats: OodStats, path: Path, sha256: str):
        self.stats = stats
        self.path = path
        self.sha256 = sha256
        self.method = stats.method
        self.threshold = stats.thresholds[stats.method]
        self.needs_tokens = stats.method in TOKEN_METHODS

    def describe(self) -> dict:
        """What the card and every report say about the check."""
        d = {
            "method": self.method,
            "method_name": METHOD_NAMES[self.method],
            "threshold": self.threshold,
            "percentile": self.stats.percentile,
            "stats_file": self.path.name,
            "stats_sha256": self.sha256,
            "n_reference": int(len(self.stats.reference)),
            "n_calibration": self.stats.n_calibration,
            "source": self.stats.source,
        }
        if self.method == "knn":
            d["k"] = self.stats.k
        return d

    def results(
        self, feats: np.ndarray, logits: np.ndarray, tokens: list[np.ndarray] | None = None
    ) -> list[OodResult | None]:
        """One result per image; None for each when the method needs the blocks' tokens and the
        caller's forward did not capture them (such a prediction is not stored as checked)."""
        if self.needs_tokens and tokens is None:
            return [None] * len(feats)
        s = score(self.stats, self.method, feats, logits, tokens)
        return [
            OodResult(self.method, float(v), self.threshold, bool(v > self.threshold), self.sha256) for v in s
        ]


def load_check(weights: Path | str, weights_sha256: str) -> tuple[OodCheck | None, dict]:
    """The check for these weights and the card's description of it, or (None, {"reason": why not})."""
    path = stats_path(weights)
    if not path.exists():
        return None, {"reason": f"no statistics file beside the weights ({path.name})"}
    try:
        stats = OodStats.load(path)
    except OodStatsError as exc:
        return None, {"reason": str(exc)}
    if stats.weights_sha256 != weights_sha256:
        return None, {
            "reason": f"{path.name} was computed for other weights ({stats.weights_sha256[:12]}, these are "
            f"{weights_sha256[:12]}); run `medgrad ood-stats` for these"
        }
    check = OodCheck(stats, path, file_sha256(path))
    return check, check.describe()
