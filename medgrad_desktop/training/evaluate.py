"""Evaluate a loaded model on a labelled data set, the way the app classifies.

Per-image metrics over the data set's classes (accuracy, balanced accuracy, macro-F1, per-class
precision/recall, confusion matrix, ECE with a reliability diagram) use the model card's temperature.
The paper's in-batch image-caption matching accuracy is reported apart and labelled as such: it is
not diagnosis accuracy (ALGORITHM.md section 6).
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from pathlib import Path

import numpy as np
import torch

from medgrad_desktop.core.auroc import auroc
from medgrad_desktop.core.batching import images_per_pass
from medgrad_desktop.core.classify import predictions_from_features
from medgrad_desktop.core.embedding import embed_images
from medgrad_desktop.core.imageio import load_image
from medgrad_desktop.core.model import ClipModel
from medgrad_desktop.data.records import Record
from medgrad_desktop.data.synth import FINDING_PHRASES, HELD_OUT_PHRASES
from medgrad_desktop.plotting import pyplot, save_figure
from medgrad_desktop.training.metrics import balanced_accuracy, classification_metrics

IN_BATCH_LABEL = (
    "paper's in-batch image-to-caption matching accuracy (batches of {b}; a hit is the "
    "image's own caption text ranked first among the batch's captions; NOT diagnosis accuracy)"
)
FEATURE_PASS = images_per_pass("evaluate-features")
STRATA = ("skin_tone", "n_artefacts", "target_structure", "artefact_rate")


@torch.no_grad()
def image_features(
    clip: ClipModel, records: list[Record], batch_size: int = FEATURE_PASS, progress=None
) -> torch.Tensor:
    feats = []
    for i in range(0, len(records), batch_size):
        chunk = records[i : i + batch_size]
        x, _ = clip.batch([load_image(r.path).rgb for r in chunk])
        feats.append(embed_images(clip.model, x))
        if progress:
            progress(min(i + batch_size, len(records)), len(records))
    return torch.cat(feats)


@torch.no_grad()
def in_batch_matching(
    clip: ClipModel, feats: torch.Tensor, captions: list[str], batch: int = 64, seed: int = 0
) -> dict:
    order = np.random.default_rng(seed).permutation(len(captions))
    hits = n = 0
    unique_share = []
    for i in range(0, len(order), batch):
        idx = order[i : i + batch]
        caps = [captions[j] for j in idx]
        txt = clip.encode_prompts(caps)
        best = (feats[torch.as_tensor(idx)] @ txt.T).argmax(1).tolist()
        hits += sum(caps[b] == caps[k] for k, b in enumerate(best))
        n += len(idx)
        unique_share.append(len(set(caps)) / len(caps))
    return {
        "in_batch_matching_accuracy": hits / max(n, 1),
        "batch_size": batch,
        "label": IN_BATCH_LABEL.format(b=batch),
        "mean_unique_captions_per_batch": float(np.mean(unique_share)),
    }


def known_records(clip: ClipModel, records: list[Record]) -> tuple[list[Record], dict[str, int]]:
    """The records whose label the model can name, and a count of the others by label: a model cannot be
    right or wrong about a class it has no prompt for, so those images are counted apart."""
    class_ids = set(clip.catalogue.class_ids)
    unknown = Counter(r.label for r in records if r.label not in class_ids)
    return [r for r in records if r.label in class_ids], dict(sorted(unknown.items()))


def held_out_phrases(clip: ClipModel) -> dict[str, tuple[str, str]]:
    """Phrase -> (criterion, option) it names, for the phrase AUROC: the held-out phrasings the model's
    card lists, else the synthetic generator's."""
    listed = clip.card.text_tower_record.get("held_out_phrases")
    if listed:
        return {p: tuple(v.split(":", 1)) for p, v in listed.items()}
    return dict(HELD_OUT_PHRASES)


def trained_phrases(clip: ClipModel) -> dict[str, tuple[str, str]]:
    """Phrase -> (criterion, option) for the wordings the text tower was trained on (the card's
    `training_phrasings`, else the generator's), scored beside the held-out ones: a held-out wording far
    below the trained wordings of the same finding is a text-side miss; both low, an image-side one."""
    listed = clip.card.text_tower_record.get("training_phrasings")
    if listed:
        return {p: tuple(key.split(":", 1)) for key, wordings in listed.items() for p in wordings}
    return {p: finding for finding, wordings in FINDING_PHRASES.items() for p in wordings}


def evaluate_records(
    clip: ClipModel, records: list[Record], batch_size: int = FEATURE_PASS, in_batch: int = 64, progress=None
) -> dict:
    """Every metric over the same images, those whose label the model knows (`n`); the others are
    counted in `labels_unknown_to_model` and named in `warnings`."""
    if not records:
        raise ValueError("nothing to evaluate: the data set is empty")
    records_all = records
    records, unknown = known_records(clip, records_all)
    warnings = []
    if unknown:
        warnings.append(
            f"{sum(unknown.values())} of {len(records_all)} images have labels the model does not "
            f"know ({', '.join(f'{k}: {v}' for k, v in unknown.items())}); they are left out of "
            "every metric"
        )
    if not records:
        raise ValueError(
            f"nothing to evaluate: none of the {len(records_all)} images has a label the model knows "
            f"(its classes: {', '.join(clip.catalogue.class_ids)})"
        )
    feats = image_features(clip, records, batch_size, progress)
    preds = predictions_from_features(clip, feats, top_k=3)
    class_ids = list(clip.catalogue.class_ids)
    probs = np.array([p.probabilities for p in preds])
    eval_classes = [c for c in class_ids if any(r.label == c for r in records)]
    y = np.array([class_ids.index(r.label) for r in records])
    out: dict = {
        "n_images": len(records_all),
        "model": clip.card.name,
        "model_sha256": clip.card.weights_sha256,
        "temperature": clip.card.temperature,
        "labels_unknown_to_model": unknown,
        "n_unknown_to_model": sum(unknown.values()),
        "warnings": warnings,
    }
    out.update(classification_metrics(probs, y, class_ids, eval_classes))
    strata: dict[str, dict[str, dict]] = {}
    correct = probs.argmax(1) == y
    for key in STRATA:
        vals = [r.meta.get(key) for r in records]
        if all(v not in (None, "") for v in vals) and len(set(vals)) > 1:
            groups: dict[str, list[int]] = defaultdict(list)
            for i, v in enumerate(vals):
                groups[str(v)].append(i)
            strata[key] = {
                v: {"n": len(ix), "accuracy": float(correct[ix].mean())} for v, ix in sorted(groups.items())
            }
    out["strata"] = strata
    if in_batch:
        out["in_batch"] = in_batch_matching(clip, feats, [r.caption for r in records], in_batch)
    crit = _criteria_scores(preds, records)
    if crit:
        out["criteria_accuracy"] = {k: v["accuracy"] for k, v in crit.items()}
        out["criteria_balanced_accuracy"] = {k: v["balanced_accuracy"] for k, v in crit.items()}
        out["criteria_balanced_accuracy_mean"] = float(
            np.mean(list(out["criteria_balanced_accuracy"].values()))
        )
    held_out = held_out_phrases(clip)
    phrases = phrase_auroc(clip, feats, records, held_out)
    if phrases:
        out["phrase_auroc"] = phrases
        out["phrase_auroc_mean"] = float(np.mean(list(phrases.values())))
        trained = trained_phrases(clip)
        known = phrase_auroc(clip, feats, records, trained)
        by_finding: dict[tuple[str, str], list[float]] = defaultdict(list)
        for phrase, value in known.items():
            by_finding[trained[phrase]].append(value)
        finding_mean = {f: float(np.mean(v)) for f, v in by_finding.items()}
        out["phrase_auroc_trained"] = known
        out["phrase_auroc_trained_mean"] = float(np.mean(list(known.values()))) if known else None
        # held-out phrase -> mean AUROC of the trained wordings of its finding (None: none scored)
        out["phrase_auroc_trained_same_finding"] = {p: finding_mean.get(held_out[p]) for p in phrases}
    return out


def _criteria_scores(preds: list, records: list[Record]) -> dict[str, dict[str, float]]:
    truth: dict[str, list[str]] = defaultdict(list)
    guess: dict[str, list[str]] = defaultdict(list)
    for p, r in zip(preds, records, strict=True):
        for c in p.criteria:
            if c.criterion_id in r.criteria:
                truth[c.criterion_id].append(r.criteria[c.criterion_id])
                guess[c.criterion_id].append(c.option_id)
    return {
        k: {
            "accuracy": float(np.mean(np.asarray(truth[k]) == np.asarray(guess[k]))),
            "balanced_accuracy": balanced_accuracy(truth[k], guess[k]),
        }
        for k in truth
    }


@torch.no_grad()
def phrase_auroc(
    clip: ClipModel, feats: torch.Tensor, records: list[Record], phrases: dict[str, tuple[str, str]]
) -> dict[str, float]:
    """{phrase: AUROC of cos(image, phrase) for "the finding it names is present"}, over the images whose
    record states that criterion; phrases whose finding is present in all or none of them are skipped."""
    out = {}
    for phrase, (crit, opt) in phrases.items():
        rows = [i for i, r in enumerate(records) if crit in r.criteria]
        if not rows:
            continue
        cos = (feats[torch.as_tensor(rows)] @ clip.encode_prompts([phrase])[0]).cpu().numpy()
        value = auroc(cos, np.array([records[i].criteria[crit] == opt for i in rows]))
        if not math.isnan(value):
            out[phrase] = value
    return out


def plot_confusion(metrics: dict, path: Path, title: str = "") -> Path:
    plt = pyplot()
    cm = np.array(metrics["confusion_matrix"])
    names = [c.replace("_", " ") for c in metrics["confusion_classes"]]
    cols = [c.replace("_", " ") for c in metrics.get("confusion_columns", metrics["confusion_classes"])]
    fig, ax = plt.subplots(figsize=(1.6 + 0.75 * len(cols), 1.2 + 0.65 * len(names)), dpi=110)
    ax.imshow(cm, cmap="Blues")
    for i in range(cm.shape[0]):
        for j in range(cm.shape[1]):
            ax.text(
                j,
                i,
                str(cm[i, j]),
                ha="center",
                va="center",
                color="white" if cm[i, j] > cm.max() / 2 else "black",
                fontsize=8,
            )
    ax.set_xticks(range(len(cols)), cols, rotation=40, ha="right", fontsize=8)
    ax.set_yticks(range(len(names)), names, fontsize=8)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(title or f"confusion matrix (accuracy {metrics['accuracy']:.1%})", fontsize=9)
    return save_figure(fig, path, dpi=110)


def plot_reliability(metrics: dict, path: Path, title: str = "") -> Path:
    plt = pyplot()
    bins = metrics["reliability_bins"]
    fig, ax = plt.subplots(figsize=(4.2, 4.0), dpi=110)
    centers = [(b["lo"] + b["hi"]) / 2 for b in bins]
    width = bins[0]["hi"] - bins[0]["lo"]
    accs = [b["accuracy"] if b["count"] else 0 for b in bins]
    ax.bar(
        centers, accs, width=width * 0.95, color="#4477aa", edgecolor="black", linewidth=0.4, label="accuracy"
    )
    ax.plot([0, 1], [0, 1], "--", color="gray", label="perfect calibration")
    for c, b in zip(centers, bins, strict=True):
        if b["count"]:
            ax.text(c, min(b["accuracy"] + 0.02, 0.97), str(b["count"]), ha="center", fontsize=6)
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.set_xlabel("confidence")
    ax.set_ylabel("accuracy")
    ax.set_title(title or f"reliability (ECE {metrics['ece']:.3f})", fontsize=9)
    ax.legend(fontsize=7, loc="upper left")
    return save_figure(fig, path, dpi=110)


def plot_history(history: list[dict], path: Path) -> Path:
    plt = pyplot()
    ep = [h["epoch"] for h in history]
    fig, ax = plt.subplots(figsize=(5, 3.2), dpi=110)
    ax.plot(ep, [h["train_loss"] for h in history], "o-", label="train loss")
    ax.plot(ep, [h["val_loss"] for h in history], "s-", label="validation loss")
    ax.set_xlabel("epoch")
    ax.set_ylabel("loss")
    handles = ax.get_lines()
    if any(h.get("val_accuracy") is not None for h in history):
        ax2 = ax.twinx()
        handles += ax2.plot(
            ep, [h.get("val_accuracy") or 0 for h in history], "^-", color="green", label="val. accuracy"
        )
        ax2.set_ylim(0, 1)
        ax2.set_ylabel("validation accuracy")
    # one legend above the axes: inside, it covered the curves it names (seen on the 36-epoch demo run)
    ax.legend(
        handles=handles,
        fontsize=7,
        loc="lower center",
        bbox_to_anchor=(0.5, 1.01),
        ncol=len(handles),
        frameon=False,
    )
    return save_figure(fig, path, dpi=110)
