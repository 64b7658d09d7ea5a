"""Testing the out-of-distribution check: every candidate score of `core.ood` on in-distribution and
out-of-distribution image sets, at the thresholds the model's statistics file holds, and the
pre-registered rule that picks the method the app uses (docs/TRUST.md, "Out-of-distribution check").

Rule: among the candidates that flag at least `GOAL_OOD_FLAGGED` of the goal's out-of-distribution
images (pooled) and at most `GOAL_ID_FLAGGED` of the in-distribution ones, the highest AUROC (in- vs
out-of-distribution, rounded to 3 decimals), ties to the higher share of out-of-distribution images
flagged, then the lower share of in-distribution images flagged, then the simpler score (the order of
`core.ood.METHODS`); when none meets both goals, the highest AUROC by the same ties, and the goal is
missed.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import torch

from medgrad_desktop.core.auroc import auroc
from medgrad_desktop.core.classify import class_logits
from medgrad_desktop.core.embedding import block_token_means, embed_images
from medgrad_desktop.core.model import ClipModel
from medgrad_desktop.core.ood import METHODS, OodStats, all_scores

GOAL_OOD_FLAGGED = 0.95
GOAL_ID_FLAGGED = 0.05


@torch.no_grad()
def image_scores(clip: ClipModel, stats: OodStats, images: list[np.ndarray], batch_size: int = 32) -> dict:
    """Every candidate's scores (method -> (N,)) of uint8 RGB images, embedded as the app embeds them."""
    parts: list[dict[str, np.ndarray]] = []
    with_tokens = len(stats.layer_means) > 0
    for i in range(0, len(images), batch_size):
        x, _ = clip.batch(images[i : i + batch_size])
        with block_token_means(clip.model) as means:
            f = embed_images(clip.model, x)
        tokens = [m.cpu().numpy() for m in means] if with_tokens else None
        parts.append(all_scores(stats, f.cpu().numpy(), class_logits(clip, f), tokens))
    return {m: np.concatenate([p[m] for p in parts]) for m in parts[0]}


def id_vs_ood_auroc(id_scores: np.ndarray, ood_scores: np.ndarray) -> float:
    """Probability that an out-of-distribution image scores above an in-distribution one."""
    positive = np.r_[np.zeros(len(id_scores), bool), np.ones(len(ood_scores), bool)]
    return auroc(np.r_[id_scores, ood_scores], positive)


@dataclass
class MethodRow:
    method: str
    threshold: float
    id_flagged: float  # share of the in-distribution set flagged
    ood_flagged: float  # share of the goal's out-of-distribution images flagged, pooled
    auroc: float  # in-distribution vs the goal's out-of-distribution images
    flagged_by_set: dict[str, float]  # every set, its share flagged
    meets_goal: bool

    def to_dict(self) -> dict:
        return asdict(self)


def method_rows(
    stats: OodStats, scores: dict[str, dict[str, np.ndarray]], id_set: str, goal_sets: list[str]
) -> list[MethodRow]:
    """One row per candidate; `scores` maps set name -> method -> scores."""
    rows = []
    for m in [m for m in METHODS if m in next(iter(scores.values()))]:
        thr = stats.thresholds[m]
        flagged = {name: float(np.mean(s[m] > thr)) for name, s in scores.items()}
        pooled = np.concatenate([scores[name][m] for name in goal_sets])
        id_flag, ood_flag = flagged[id_set], float(np.mean(pooled > thr))
        rows.append(
            MethodRow(
                method=m,
                threshold=thr,
                id_flagged=id_flag,
                ood_flagged=ood_flag,
                auroc=id_vs_ood_auroc(scores[id_set][m], pooled),
                flagged_by_set=flagged,
                meets_goal=ood_flag >= GOAL_OOD_FLAGGED and id_flag <= GOAL_ID_FLAGGED,
            )
        )
    return rows


def choose(rows: list[MethodRow]) -> tuple[str, bool]:
    """The pre-registered rule: (the method, whether it meets both goals)."""
    meeting = [r for r in rows if r.meets_goal]
    pool = meeting or rows
    best = min(
        pool,
        key=lambda r: (-round(r.auroc, 3), -r.ood_flagged, r.id_flagged, METHODS.index(r.method)),
    )
    return best.method, bool(meeting)


def markdown_table(rows: list[MethodRow], sets: list[str], counts: dict[str, int]) -> str:
    """Each candidate's threshold, AUROC, the two goal figures, and the share flagged of every set."""
    head = ["method", "threshold", "AUROC", "in-distribution flagged", "goal sets flagged (pooled)"]
    head += [f"{s} (n={counts[s]})" for s in sets] + ["both goals met"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in rows:
        cells = [
            r.method,
            f"{r.threshold:.4g}",
            f"{r.auroc:.3f}",
            f"{r.id_flagged:.1%}",
            f"{r.ood_flagged:.1%}",
        ]
        cells += [f"{r.flagged_by_set[s]:.1%}" for s in sets]
        cells.append("yes" if r.meets_goal else "no")
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)
