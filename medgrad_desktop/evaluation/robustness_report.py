"""robustness.md and robustness.json of `medgrad eval-explanations --robustness`."""

from __future__ import annotations

import json
from pathlib import Path

from medgrad_desktop.evaluation.robustness import REFERENCE, RobustnessResult, stability_answer
from medgrad_desktop.evaluation.robustness_plot import write_curves
from medgrad_desktop.evaluation.stats import Interval

PRIMARY = ("max_sensitivity", "ris", "top10", "spearman", "target_auroc")


def _fmt(x: float | None, digits: int = 3) -> str:
    return "n/a" if x is None else f"{x:.{digits}g}" if abs(x) >= 1000 else f"{x:.{digits}f}"


def _interval(d: dict | None) -> str:
    if not d:
        return "n/a"
    return Interval(d["mean"], d["lo"], d["hi"], d["n"]).fmt()


def markdown(result: RobustnessResult, summary: dict, meta: dict) -> str:
    cfg = result.config
    scores = summary["scores"]
    keys: dict[str, None] = {}
    for per in scores.values():
        keys.update(dict.fromkeys(k.rsplit(".", 1)[0] for k in per))
    lines = [
        "# Robustness of the explanations",
        "",
        f"`{meta['command']}`; commit {meta['commit']}; {meta['n']} images, seed {meta['seed']}, "
        f"{meta['seconds']:.0f} s on {meta['device']} ({meta['threads']} threads).",
        "",
        "Median over images (mean for top-10 % and Spearman); copies whose predicted class changed are "
        "left out and counted in the last column. Max-sensitivity and RIS take the worst of "
        f"{cfg.draws} draws of each noise.",
        "",
        "| perturbation | map | max-sens. | RIS | top-10 % | Spearman | target AUROC | class changed |",
        "|---|---|---|---|---|---|---|---|",
    ]
    changed = summary["prediction_changed"]
    for key in keys:
        if key.startswith("artefact:"):
            continue
        for n in cfg.map_names:
            per = scores.get(n, {})
            row = [key, n]
            for s in PRIMARY:
                v = per.get(f"{key}.{s}")
                stat = "mean" if s in ("top10", "spearman", "target_auroc") else "median"
                row.append(_fmt(v[stat]) if v else "n/a")
            c = changed.get(key) or changed.get(f"{key}:{n}")
            row.append(f"{c['changed']}/{c['copies']}" if c else "n/a")
            lines.append("| " + " | ".join(row) + " |")
    lines += ["", "## Artefact attraction (mass on the artefact with it ÷ without it; median)", ""]
    lines += ["| artefact | " + " | ".join(cfg.map_names) + " | class changed |"]
    lines += ["|---" * (len(cfg.map_names) + 2) + "|"]
    for kind in cfg.artefacts:
        k = f"artefact:{kind}.attraction"
        vals = [_fmt(scores.get(n, {}).get(k, {}).get("median")) for n in cfg.map_names]
        c = changed.get(f"artefact:{kind}")
        tail = f"{c['changed']}/{c['copies']}" if c else "n/a"
        lines.append(f"| {kind} | " + " | ".join(vals) + f" | {tail} |")
    ref = summary.get("vs_" + REFERENCE.replace("-", "_"), {})
    if "medgrad" in ref:
        ans = stability_answer(ref)
        lines += [
            "",
            "## Is MedGrad less stable than Grad-ECLIP? (the pre-registered rule)",
            "",
            f"Noise: {ans['noise']}; artefacts: {ans['artefacts']}; answer: **{ans['answer']}**.",
        ]
    if ref:
        lines += [
            "",
            f"## Against {REFERENCE} (paired over images, 95 % bootstrap intervals)",
            "",
            "Ratios: median of the per-image ratio (1 = as stable; above 1 = moves more). "
            "Differences: mean paired difference (below 0 = keeps less of its map).",
            "",
            "| map | score | value [interval] |",
            "|---|---|---|",
        ]
        for n, per in ref.items():
            for k, v in per.items():
                what = next(iter(v))
                lines.append(f"| {n} | {k} ({what.replace('_', ' ')}) | {_interval(v[what])} |")
    return "\n".join(lines) + "\n"


def write_robustness(out: Path, result: RobustnessResult, summary: dict, meta: dict) -> dict[str, Path]:
    out.mkdir(parents=True, exist_ok=True)
    doc = {
        **meta,
        **summary,
        "per_image": [
            {"sample": s, "scores": r} for s, r in zip(result.samples, result.records, strict=True)
        ],
    }
    paths = {
        "json": out / "robustness.json",
        "md": out / "robustness.md",
        "plot": out / "robustness-curves.png",
    }
    paths["json"].write_text(json.dumps(doc, indent=1, allow_nan=True))
    paths["md"].write_text(markdown(result, summary, meta))
    subtitle = f"{meta['n']} images, seed {meta['seed']}, commit {str(meta['commit'])[:10]}"
    write_curves(summary["scores"], paths["plot"], subtitle)
    return paths
