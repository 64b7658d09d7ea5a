"""Write the evaluation: a Markdown table, PNG plots and a JSON of every number with its protocol.

Plots go through `medgrad_desktop.plotting` (matplotlib's Agg backend: no display, no Qt).
"""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np

from medgrad_desktop import markdown as md
from medgrad_desktop.atomic import write_text_atomic
from medgrad_desktop.core.explain import METHOD_NAMES, default_params
from medgrad_desktop.core.render import blend
from medgrad_desktop.evaluation.baselines import BASELINE_NAMES
from medgrad_desktop.evaluation.localization import to_mask_size
from medgrad_desktop.evaluation.suite import EvalResult
from medgrad_desktop.evaluation.summary import arrow, direction, interval, label
from medgrad_desktop.plotting import pyplot, save_figure

NAMES = {**METHOD_NAMES, **BASELINE_NAMES, "grad-eclip-official": "Grad-ECLIP (official, single head)"}
LOC_KEYS = (
    "target.pointing",
    "target.energy_lift",
    "target.auroc",
    "target.iou",
    "counterfactual.pointing",
    "counterfactual.energy_lift",
    "criterion.pointing",
    "criterion.auroc",
    "criterion.energy_lift",
    "structure.pointing",
    "structure.energy_lift",
    "lesion.pointing",
    "lesion.energy",
    "lesion.energy_lift",
    "lesion.auroc",
    "mass.decoy",
    "mass.artefact",
)


def display(name: str) -> str:
    return NAMES.get(name, name)


def _present(summary: dict, keys) -> list[str]:
    any_map = next(iter(summary["scores"].values()))
    return [k for k in keys if k in any_map and any_map[k]["n"] > 0]


def _columns(first: str, keys: list[str]) -> list[str]:
    return [first, *(f"{label(k)}{arrow(k)}" for k in keys)]


def _table(summary: dict, names: list[str], keys: list[str], digits: int = 3) -> list[str]:
    rows = [
        [
            display(n),
            *(
                interval(summary["scores"][n][k]).fmt(digits) if k in summary["scores"][n] else "n/a"
                for k in keys
            ),
        ]
        for n in names
    ]
    return md.table(_columns("Map", keys), rows)


def _diff_table(summary: dict, pairs: list[str], keys: list[str], digits: int = 3) -> list[str]:
    rows = []
    for pair in pairs:
        d = summary["differences"].get(pair, {})
        cells = []
        for k in keys:
            if k not in d:
                cells.append("n/a")
                continue
            iv = interval(d[k])
            s = iv.fmt(digits)
            if iv.excludes_zero:
                better = (iv.mean > 0) == bool(direction(k)) if direction(k) is not None else None
                s = f"**{s}**" + ("" if better is None else (" (A better)" if better else " (B better)"))
            cells.append(s)
        a, _, b = pair.partition(" - ")
        rows.append([f"{display(a)} − {display(b)}", *cells])
    return md.table(_columns("Difference", keys), rows)


def markdown(result: EvalResult, summary: dict, meta: dict) -> str:
    names = result.map_names
    main = [n for n in names if result.kinds[n] != "ablation"]
    pert_keys = [f"{mode}.{p.key}" for p in result.config.protocols for mode in ("deletion", "insertion")]
    loc = _present(summary, LOC_KEYS)
    out = [
        f"# Explanation evaluation: {meta['dataset']['name']}",
        "",
        f"Model: {meta['model']['name']} (sha256 {meta['model']['weights_sha256'][:12]}), "
        f"N = {meta['n']} images, seed {meta['seed']}, commit {meta['commit']}.  ",
        f"Command: `{meta['command']}`",
        "",
        "Every cell is the mean over images with a 95 % percentile bootstrap interval "
        f"({meta['bootstrap']['n_boot']} resamples of images). ↑ higher is better, ↓ lower is better. "
        "All maps are min-max normalized on the model's patch grid (MedGrad's pixel form: at the model's "
        "input resolution) and upsampled bilinearly, as the app shows them.",
        "",
        "## Localization",
        "",
        *_table(summary, main, loc),
        "",
    ]
    out += [
        "## Faithfulness (deletion / insertion)",
        "",
        "Score: softmax probability of the target class over the class prompts "
        "(softmax(logit_scale / temperature · cos)). AUC = mean probability over the range. "
        f"N = {meta.get('n_perturbation', meta['n'])} images (the first ones of the set).",
        "",
    ]
    for p in result.config.protocols:
        out.append(
            f"- `{p.key}`: {p.unit} units, top {p.max_fraction:.0%} in {p.steps} steps "
            f"({p.max_fraction / p.steps:.1%} each), deletion fill {p.deletion_fill}, insertion "
            f"base {p.insertion_base}; ties broken by a fixed random order per image."
        )
    out += ["", *_table(summary, main, _present(summary, pert_keys)), ""]
    methods = [n for n in names if result.kinds[n] == "method"]
    baselines = [n for n in names if result.kinds[n] == "baseline"]
    pairs = [f"{a} - {b}" for i, a in enumerate(methods) for b in methods[i + 1 :]]
    pairs += [f"{a} - {b}" for a in methods for b in baselines]
    pairs += [
        p
        for p in summary["differences"]
        if p.partition(" - ")[0] in result.kinds and result.kinds[p.partition(" - ")[0]] == "reference"
    ]
    head_keys = _present(
        summary,
        [
            "target.pointing",
            "counterfactual.pointing",
            "target.energy_lift",
            "target.auroc",
            "criterion.pointing",
            "mass.artefact",
            "lesion.energy_lift",
            *pert_keys[:2],
            *pert_keys[-2:],
        ],
    )
    out += [
        "## Paired differences (A − B)",
        "",
        "Bold: the 95 % interval excludes 0; the note says which map the difference favours.",
        "",
        *_diff_table(summary, pairs, head_keys),
        "",
    ]
    abl = [n for n in names if result.kinds[n] == "ablation"]
    if abl:
        abl_pert = [
            f"{mode}.{p.key}" for p in result.config.ablation_protocols for mode in ("deletion", "insertion")
        ]
        keys = _present(summary, [*loc[:5], "mass.decoy", "mass.artefact", *abl_pert])
        d = default_params("medgrad")
        out += [
            "## Ablation of MedGrad's choices and its candidate forms",
            "",
            f"Default: radius {d.entropy_radius} px, combine {d.combine} ({d.form_description}), alpha "
            f"{d.alpha:g}, entropy on the {d.entropy_source.replace('_', ' ')}.",
            "",
            *_table(summary, ["medgrad", *abl], keys),
            "",
            *_diff_table(summary, [f"{a} - medgrad" for a in abl], keys),
            "",
        ]
    if "form_selection" in summary:
        out += _selection_lines(summary)
    rel = summary.get("reliance", {})
    if rel:
        rows = [[k, interval(v).fmt(4), v["n"]] for k, v in rel.items() if k != "p_target"]
        rows.append(
            ["(p(target) of the unedited image)", interval(rel["p_target"]).fmt(4), rel["p_target"]["n"]]
        )
        out += [
            "## What the model relies on (drop of p(target) after editing the image)",
            "",
            *md.table(["Edit", "mean drop of p(target) [95 % CI]", "N"], rows),
            "",
        ]
    ent = summary.get("entropy_vs_lesion", {})
    if ent:
        out += [
            "## Local entropy (radius 5 px, model input) versus the lesion mask, pixel level",
            "",
            *md.table(["Statistic", "mean [95 % CI]"], [[k, interval(v).fmt(3)] for k, v in ent.items()]),
        ]
        out += [f"\nN = {next(iter(ent.values()))['n']} images with a lesion mask.", ""]
    if "sanity" in meta:
        out += [
            "## Sanity checks (Spearman rank correlation with the original map; lower = the map "
            "depends on what was randomized)",
            "",
            _sanity_table(meta["sanity"]),
            "",
        ]
    st = summary.get("strata", {})
    if st:
        out += ["## Strata", ""]
        for f, levels in st.items():
            keys = _present(
                summary,
                [
                    "target.pointing",
                    "target.energy_lift",
                    "mass.artefact",
                    "deletion.grad-eclip/patch",
                    "insertion.grad-eclip/patch",
                ],
            )
            columns = ["Map", *(f"{lv} (n={d['n']}): {label(k)}" for lv, d in levels.items() for k in keys)]
            rows = [
                [
                    display(n),
                    *(
                        interval(d["scores"][n][k]).fmt(2) if k in d["scores"][n] else "n/a"
                        for d in levels.values()
                        for k in keys
                    ),
                ]
                for n in main
            ]
            if all("medgrad - grad-eclip" in d for d in levels.values()):
                cells = [
                    interval(d["medgrad - grad-eclip"][k]).fmt(2) if k in d["medgrad - grad-eclip"] else "n/a"
                    for d in levels.values()
                    for k in keys
                ]
                rows.append(["*MedGrad − Grad-ECLIP (paired)*", *cells])
            out += [f"### {f}", "", *md.table(columns, rows), ""]
    out += [f"Time: {meta['seconds']:.0f} s, {meta['forwards']} perturbed forwards on {meta['device']}.", ""]
    tm = meta.get("all_prompt_maps_seconds_per_image", {})
    if tm.get("median") is not None:
        out += [f"Maps of one image for all prompts: median {tm['median'] * 1000:.0f} ms ({tm['what']}).", ""]
    return "\n".join(out)


def _selection_lines(summary: dict) -> list[str]:
    sel = summary["form_selection"]
    keys = [*sel["candidates"][next(iter(sel["candidates"]))]["scores"]] if sel["candidates"] else []
    columns = [*_columns("Candidate", keys), "Pointing − local entropy (paired)", "Qualifies", "Rank sum"]
    rows = [
        [
            n,
            *(f"{row['scores'][k]:.3f}" for k in keys),
            interval(row["pointing_minus_entropy"]).fmt(3) if row["pointing_minus_entropy"] else "n/a",
            "yes" if row["qualifies"] else "no",
            f"{row.get('rank_sum', float('nan')):.1f}",
        ]
        for n, row in sel["candidates"].items()
    ]
    lines = [
        "## Choice of MedGrad's form (rule fixed before the run)",
        "",
        sel["rule"],
        "",
        *md.table(columns, rows),
    ]
    verdict = sel["winner"] or "none qualified; the default stays the literal slide equation (rule 4)"
    lines += ["", f"Winner: **{verdict}**.", ""]
    return lines


def _sanity_table(sanity: dict) -> str:
    checks = list(sanity["checks"])
    methods = list(next(iter(sanity["checks"].values())))
    rows = [[display(m), *(interval(sanity["checks"][c][m]).fmt(2) for c in checks)] for m in methods]
    lines = md.table(["Method", *checks], rows)
    return "\n".join(lines) + f"\n\nN = {sanity['n']} images, seed {sanity['seed']}."


COLORS = {
    "gradcam": "tab:blue",
    "grad-eclip": "tab:orange",
    "medgrad": "tab:red",
    "random": "0.6",
    "grad-eclip-official": "tab:olive",
    "centre": "tab:green",
    "sobel": "tab:purple",
    "entropy": "tab:brown",
    "lesion": "tab:pink",
}


def plot_curves(result: EvalResult, path: Path) -> None:
    protos = result.config.protocols
    names = [n for n in result.map_names if result.kinds[n] != "ablation"]
    fig, axes = pyplot().subplots(2, len(protos), figsize=(4 * len(protos), 7), squeeze=False)
    for j, p in enumerate(protos):
        for i, mode in enumerate(("deletion", "insertion")):
            ax = axes[i, j]
            for n in names:
                c = result.mean_curve(n, p.key, mode)
                if c is None:
                    continue
                ax.plot(
                    result.fractions[p.key],
                    c,
                    label=display(n),
                    color=COLORS.get(n),
                    lw=2.2 if result.kinds[n] == "method" else 1.2,
                    ls="-" if result.kinds[n] == "method" else "--",
                )
            ax.set_title(f"{mode} · {p.key}", fontsize=10)
            ax.set_xlabel(
                f"fraction of {p.unit + ('es' if p.unit == 'patch' else 's')} {'removed' if mode == 'deletion' else 'inserted'}"
            )
            ax.set_ylabel("p(target class)")
            ax.grid(alpha=0.3)
    axes[0, 0].legend(fontsize=8)
    n_curves = max(result.curve_counts.values(), default=0)
    fig.suptitle(f"Mean deletion / insertion curves (N = {n_curves} images)")
    save_figure(fig, path, dpi=110)


def _mask_overlay(rgb: np.ndarray, masks: dict[str, np.ndarray], avoid: dict[str, np.ndarray]) -> np.ndarray:
    out = (rgb.astype(np.float32) * 0.45).astype(np.uint8)
    colors = {
        "target": (0, 255, 0),
        "counterfactual": (255, 255, 0),
        "structure": (0, 200, 255),
        "decoy": (255, 128, 0),
        "artefact": (255, 0, 255),
    }
    for group in (avoid, masks):
        for k, m in group.items():
            if k == "lesion" or k not in colors:
                continue
            mm = to_mask_size(m.astype(np.float32), rgb.shape[:2]) > 0.5
            out[mm] = (0.4 * out[mm] + 0.6 * np.array(colors[k])).astype(np.uint8)
    if "lesion" in masks:
        lm = (to_mask_size(masks["lesion"].astype(np.float32), rgb.shape[:2]) > 0.5).astype(np.uint8)
        cs, _ = cv2.findContours(lm, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)
        cv2.drawContours(out, cs, -1, (255, 255, 255), 1)
    return out


def plot_examples(
    result: EvalResult,
    path: Path,
    columns: tuple[str, ...] = ("gradcam", "grad-eclip", "medgrad"),
    extra: tuple[str, ...] = ("entropy",),
) -> None:
    ex = result.examples
    if not ex:
        return
    cols = [c for c in (*columns, *extra) if c in ex[0]["maps"]]
    ncol = 2 + len(cols)
    fig, axes = pyplot().subplots(len(ex), ncol, figsize=(2.2 * ncol, 2.3 * len(ex)), squeeze=False)
    for i, e in enumerate(ex):
        axes[i, 0].imshow(e["image"])
        axes[i, 0].set_ylabel(f"{e['id']}\n{e['target']}", fontsize=7)
        for j, c in enumerate(cols):
            m = to_mask_size(e["maps"][c], e["image"].shape[:2])
            # uniform: each map whole over its image, low relevance included, so the methods compare evenly
            axes[i, 1 + j].imshow(blend(e["image"], m, 0.5, "jet", alpha="uniform"))
        axes[i, -1].imshow(_mask_overlay(e["image"], e["masks"], e["avoid"]))
        for ax in axes[i]:
            ax.set_xticks([])
            ax.set_yticks([])
    for j, title in enumerate(["image", *[display(c) for c in cols], "ground truth"]):
        axes[0, j].set_title(title, fontsize=8)
    fig.text(
        0.5,
        0.002,
        "ground truth: green = target, yellow = counterfactual diff, cyan = lesion structure, "
        "orange = decoys, magenta = artefacts, white = lesion border",
        ha="center",
        fontsize=7,
    )
    save_figure(fig, path, dpi=100, rect=(0, 0.015, 1, 1))


def write_outputs(out: Path, result: EvalResult, summary: dict, meta: dict) -> dict[str, Path]:
    out.mkdir(parents=True, exist_ok=True)
    paths = {
        "markdown": out / "explanations.md",
        "json": out / "explanations.json",
        "curves": out / "curves.png",
        "examples": out / "examples.png",
    }
    write_text_atomic(paths["markdown"], markdown(result, summary, meta))
    curves = {}
    for (n, pkey, mode), _ in result.curve_sums.items():
        curves.setdefault(n, {}).setdefault(pkey, {})[mode] = {
            "fractions": [round(float(x), 5) for x in result.fractions[pkey]],
            "mean": [round(float(x), 6) for x in result.mean_curve(n, pkey, mode)],
        }
    per_image = [{**s, "scores": rec} for s, rec in zip(result.samples, result.records, strict=True)]
    doc = {
        **meta,
        "maps": {n: {"kind": result.kinds[n], "params": result.params.get(n)} for n in result.map_names},
        **summary,
        "curves": curves,
        "per_image": per_image,
    }
    write_text_atomic(
        paths["json"],
        json.dumps(_rounded(doc), indent=None, separators=(",", ":"), default=_jsonable, allow_nan=True),
    )
    plot_curves(result, paths["curves"])
    plot_examples(result, paths["examples"])
    return paths


def _rounded(o, digits: int = 6):
    """Six decimals are far below every interval's width and keep the per-image JSON small."""
    if isinstance(o, float):
        return round(o, digits) if np.isfinite(o) else o
    if isinstance(o, np.floating):
        return _rounded(float(o), digits)
    if isinstance(o, dict):
        return {k: _rounded(v, digits) for k, v in o.items()}
    if isinstance(o, list | tuple):
        return [_rounded(v, digits) for v in o]
    return o


def _jsonable(o):
    if isinstance(o, np.generic):
        return o.item()
    if isinstance(o, np.ndarray):
        return o.tolist()
    raise TypeError(f"not JSON serializable: {type(o).__name__}")
