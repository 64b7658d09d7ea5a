"""Classification metrics and calibration, computed from probabilities and true labels (no torch).

Everything is per image over the data set's own classes; the paper's in-batch image-caption matching
accuracy lives in `evaluate.py` and is reported separately, labelled as such (ALGORITHM.md section 6).
"""

from __future__ import annotations

import numpy as np


def confusion(y_true: np.ndarray, y_pred: np.ndarray, n: int) -> np.ndarray:
    cm = np.zeros((n, n), dtype=np.int64)
    np.add.at(cm, (y_true, y_pred), 1)
    return cm


def classification_metrics(
    probs: np.ndarray, y_true: np.ndarray, class_ids: list[str], eval_classes: list[str] | None = None
) -> dict:
    """probs: (N, C) over `class_ids`; y_true: (N,) indices into class_ids. Per-class scores and the
    macro averages are over `eval_classes` (the classes present in the data set) when given."""
    y_true = np.asarray(y_true, dtype=np.int64)
    y_pred = probs.argmax(1)
    n = len(class_ids)
    cm = confusion(y_true, y_pred, n)
    eval_idx = [class_ids.index(c) for c in (eval_classes or class_ids)]
    per_class = {}
    recalls, f1s = [], []
    for i in eval_idx:
        tp = cm[i, i]
        support = cm[i].sum()
        predicted = cm[:, i].sum()
        p = tp / predicted if predicted else 0.0
        r = tp / support if support else 0.0
        f1 = 2 * p * r / (p + r) if p + r else 0.0
        per_class[class_ids[i]] = {
            "precision": float(p),
            "recall": float(r),
            "f1": float(f1),
            "support": int(support),
        }
        if support:
            recalls.append(r)
            f1s.append(f1)
    conf = probs.max(1)
    ece, bins = expected_calibration_error(conf, y_pred == y_true)
    nll = float(-np.mean(np.log(np.clip(probs[np.arange(len(y_true)), y_true], 1e-12, 1))))
    return {
        "n": int(len(y_true)),
        "accuracy": float(np.mean(y_pred == y_true)) if len(y_true) else 0.0,
        "balanced_accuracy": float(np.mean(recalls)) if recalls else 0.0,
        "macro_f1": float(np.mean(f1s)) if f1s else 0.0,
        "ece": ece,
        "nll": nll,
        "per_class": per_class,
        **_restricted_confusion(cm, eval_idx, class_ids),
        "predicted_outside_eval_classes": int(np.sum(~np.isin(y_pred, eval_idx))),
        "reliability_bins": bins,
    }


def _restricted_confusion(cm: np.ndarray, eval_idx: list[int], class_ids: list[str]) -> dict:
    """Rows and columns of the data set's classes; predictions of any other class the model knows go
    to one extra column, "other", so every image stays in the matrix."""
    sub = cm[np.ix_(eval_idx, eval_idx)]
    other = cm[eval_idx].sum(1) - sub.sum(1)
    columns = [class_ids[i] for i in eval_idx]
    if other.any():
        sub = np.concatenate([sub, other[:, None]], 1)
        columns.append("other")
    return {
        "confusion_matrix": sub.tolist(),
        "confusion_classes": [class_ids[i] for i in eval_idx],
        "confusion_columns": columns,
    }


def expected_calibration_error(
    confidence: np.ndarray, correct: np.ndarray, n_bins: int = 15
) -> tuple[float, list[dict]]:
    """ECE with equal-width confidence bins (Guo et al. 2017), and the bins for a reliability diagram."""
    edges = np.linspace(0, 1, n_bins + 1)
    ece = 0.0
    bins = []
    total = max(len(confidence), 1)
    for lo, hi in zip(edges[:-1], edges[1:], strict=True):
        sel = (confidence > lo) & (confidence <= hi) if lo > 0 else (confidence >= lo) & (confidence <= hi)
        k = int(sel.sum())
        if k:
            acc, conf = float(correct[sel].mean()), float(confidence[sel].mean())
            ece += k / total * abs(acc - conf)
        else:
            acc = conf = 0.0
        bins.append({"lo": float(lo), "hi": float(hi), "count": k, "accuracy": acc, "confidence": conf})
    return float(ece), bins


def fit_temperature(logits: np.ndarray, y_true: np.ndarray) -> float:
    """Temperature T minimizing the NLL of softmax(logits / T) (Guo et al. 2017), by a log-spaced grid
    then golden-section refinement: no gradients, no failure modes, deterministic."""
    y_true = np.asarray(y_true, dtype=np.int64)
    if len(y_true) == 0:
        return 1.0

    def nll(log_t: float) -> float:
        z = logits / np.exp(log_t)
        z = z - z.max(1, keepdims=True)
        logp = z - np.log(np.exp(z).sum(1, keepdims=True))
        return float(-logp[np.arange(len(y_true)), y_true].mean())

    grid = np.linspace(np.log(0.05), np.log(20), 61)
    best = float(grid[int(np.argmin([nll(g) for g in grid]))])
    lo, hi = best - 0.15, best + 0.15
    g = (np.sqrt(5) - 1) / 2
    for _ in range(40):
        a, b = hi - g * (hi - lo), lo + g * (hi - lo)
        if nll(a) < nll(b):
            hi = b
        else:
            lo = a
    return float(np.exp((lo + hi) / 2))


def softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max(1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(1, keepdims=True)


def balanced_accuracy(y_true: list[str], y_pred: list[str]) -> float:
    """Mean over the true values present of the share predicted right (recall per value)."""
    truth = np.asarray(y_true)
    pred = np.asarray(y_pred)
    return float(np.mean([np.mean(pred[truth == v] == v) for v in sorted(set(y_true))]))
