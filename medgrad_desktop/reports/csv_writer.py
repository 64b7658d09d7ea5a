"""CSV: one row per image with the probability of every class, top-k, criteria, the out-of-distribution
check (`unlike_training` yes / no / "not checked", method, score, threshold), review state, hashes and
provenance columns, plus an `error` column for images that could not be read, and per method
`map_empty_<method>`: "yes" when that map is empty (all zero or flat, not drawn in the other formats:
no positive evidence for the predicted class), "no" when it is drawn. A report that measured the maps'
stability (`core.stability`) has per method `stability_<method>` (the figure, empty for a flat map) and
`stability_words_<method>` (stable / unstable: do not read fine detail / no figure: flat map); without
it these columns are absent. Text cells that a spreadsheet would run as a formula (=, +, -, @ first)
get a leading apostrophe."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

from medgrad_desktop.atomic import write_atomic
from medgrad_desktop.data.csv_table import safe_text
from medgrad_desktop.reports.content import ImageEntry, ReportContent


def columns(content: ReportContent) -> list[str]:
    cols = [
        "index",
        "image",
        "patient",
        "lesion",
        "visit",
        "sha256",
        "width",
        "height",
        "error",
        "predicted_id",
        "predicted_name",
        "confidence",
        "top_k",
    ]
    cols += [f"p_{c}" for c in content.class_ids]
    for cid in content.criterion_ids:
        cols += [f"crit_{cid}", f"crit_{cid}_p", f"crit_{cid}_points"]
    cols += [
        "seven_point_score",
        "seven_point_threshold",
        "unlike_training",
        "ood_method",
        "ood_score",
        "ood_threshold",
        "review_decision",
        "review_final_class",
        "review_note",
        "review_note_left_out",
        "review_updated",
        "review_reviewer",
        "model_name",
        "model_sha256",
        "methods",
        *(f"map_empty_{m['method']}" for m in content.methods),
        *_stability_columns(content),
        "app_version",
        "git_commit",
        "created",
    ]
    return cols


def _stability_columns(content: ReportContent) -> list[str]:
    if not content.stability_rule:
        return []
    return [
        c for m in content.methods for c in (f"stability_{m['method']}", f"stability_words_{m['method']}")
    ]


def _ood_cells(e: ImageEntry) -> dict[str, object]:
    """`unlike_training`: yes / no from the out-of-distribution check, "not checked" when the model has
    none, empty for an image that could not be read."""
    if not e.ok:
        return {"unlike_training": "", "ood_method": "", "ood_score": "", "ood_threshold": ""}
    if e.ood is None:
        return {"unlike_training": "not checked", "ood_method": "", "ood_score": "", "ood_threshold": ""}
    o = e.ood
    return {
        "unlike_training": "yes" if o.flagged else "no",
        "ood_method": o.method,
        "ood_score": f"{o.score:.6g}",
        "ood_threshold": f"{o.threshold:.6g}",
    }


def row(content: ReportContent, e: ImageEntry) -> dict[str, object]:
    app = content.provenance.get("app", {})
    r: dict[str, object] = {
        "index": e.index,
        "image": safe_text(e.label),
        "patient": safe_text(e.patient),
        "lesion": safe_text(e.lesion),
        "visit": safe_text(e.visit),
        "sha256": e.sha256 or "",
        "width": e.width or "",
        "height": e.height or "",
        "error": safe_text(e.error or ""),
        "predicted_id": e.predicted_id or "",
        "predicted_name": e.predicted_name or "",
        "confidence": "" if e.confidence is None else f"{e.confidence:.6f}",
        "top_k": ";".join(f"{c.class_id}:{c.probability:.6f}" for c in e.top_k),
        "seven_point_score": "" if e.seven_point_score is None else e.seven_point_score,
        "seven_point_threshold": "" if e.seven_point_threshold is None else e.seven_point_threshold,
        **_ood_cells(e),
        "review_decision": e.review.decision if e.ok else "",
        "review_final_class": e.review.final_class_id or "",
        "review_note": safe_text(e.review.note),
        "review_note_left_out": "yes" if e.review.note_left_out else "",
        "review_updated": e.review.updated or "",
        "review_reviewer": safe_text(e.review.reviewer),
        "model_name": content.model_name,
        "model_sha256": content.model_sha256,
        "methods": ";".join(m["method"] for m in content.methods),
        "app_version": app.get("version", ""),
        "git_commit": app.get("git_commit") or "",
        "created": content.created,
    }
    for cid in content.class_ids:
        p = e.probabilities.get(cid)
        r[f"p_{cid}"] = "" if p is None else f"{p:.6f}"
    crit = {c.criterion_id: c for c in e.criteria}
    for cid in content.criterion_ids:
        c = crit.get(cid)
        r[f"crit_{cid}"] = c.option_id if c else ""
        r[f"crit_{cid}_p"] = f"{c.probability:.6f}" if c else ""
        r[f"crit_{cid}_points"] = c.points if c else ""
    maps = {o.method: o for o in e.overlays}
    for m in content.methods:
        o = maps.get(m["method"])
        r[f"map_empty_{m['method']}"] = "" if o is None else "yes" if o.empty else "no"
        if content.stability_rule:
            r[f"stability_{m['method']}"] = "" if o is None or o.stability is None else f"{o.stability:.6f}"
            r[f"stability_words_{m['method']}"] = "" if o is None else o.stability_words
    return r


def write_csv(content: ReportContent, path: Path, tick: Callable[[str], None] | None = None) -> Path:
    def write(binary: BinaryIO) -> None:
        f = io.TextIOWrapper(binary, encoding="utf-8", newline="", write_through=True)
        w = csv.DictWriter(f, fieldnames=columns(content))
        w.writeheader()
        for e in content.entries:
            if tick is not None:
                tick(e.label)
            w.writerow(row(content, e))
        f.detach()  # the caller closes the binary file after syncing it

    return write_atomic(path, write, private=not content.deidentified)  # names files: 0600 from the start
