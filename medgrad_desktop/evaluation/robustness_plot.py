"""robustness-curves.png of `medgrad eval-explanations --robustness`: how far each method's map moves as a
perturbation grows.

Why curves and not only the table: a reader deciding whether to trust fine detail needs to see whether a
map degrades gently or jumps at the first harmless change, and whether one method stays above another at
every strength (the table gives one strength per row). One panel per kind of perturbation, strength on the
x axis, the median max-sensitivity over images on the y axis (lower = steadier), one line per map.
"""

from __future__ import annotations

from pathlib import Path

from medgrad_desktop.plotting import pyplot, save_figure

SCORE = "max_sensitivity"
STYLE = {  # the same colour for a method in every plot of the page
    "gradcam": ("Grad-CAM", "#7f7f7f", "s"),
    "grad-eclip": ("Grad-ECLIP", "#1f77b4", "o"),
    "medgrad": ("MedGrad E-CLIP", "#d62728", "^"),
    "entropy": ("local entropy alone", "#2ca02c", "v"),
}
AXIS = {
    "uniform": "uniform noise half-width (/255)",
    "gaussian": "Gaussian noise sigma (/255)",
    "jpeg": "JPEG quality (lower = stronger)",
    "brightness": "brightness shift (fraction)",
    "contrast": "contrast change (fraction)",
    "white_balance": "channel gain change (fraction)",
    "shift_rotate": "shift (% side) and rotation (deg)",
    "attack": "explanation attack eps (/255)",
}


def curves(scores: dict[str, dict[str, dict]]) -> dict[str, dict[str, list[tuple[float, float]]]]:
    """kind -> method -> [(strength, median max-sensitivity)], sorted by strength (JPEG: by falling
    quality, which is rising strength)."""
    out: dict[str, dict[str, list[tuple[float, float]]]] = {}
    for method, per in scores.items():
        for key, stats in per.items():
            name, _, score = key.rpartition(".")
            if score != SCORE or "@" not in name or stats.get("median") is None:
                continue
            kind, _, strength = name.partition("@")
            out.setdefault(kind, {}).setdefault(method, []).append((float(strength), float(stats["median"])))
    for per_method in out.values():
        for kind_points in per_method.values():
            kind_points.sort()
    return out


def write_curves(scores: dict[str, dict[str, dict]], path: Path, subtitle: str = "") -> Path:
    data = curves(scores)
    kinds = [k for k in AXIS if k in data] + sorted(k for k in data if k not in AXIS)
    plt = pyplot()
    cols = 4
    rows = max(1, -(-len(kinds) // cols))
    fig, axes = plt.subplots(rows, cols, figsize=(3.2 * cols, 2.7 * rows), squeeze=False)
    for ax, kind in zip(axes.flat, kinds, strict=False):
        for method, points in data[kind].items():
            label, colour, marker = STYLE.get(method, (method, None, "x"))
            xs, ys = zip(*points, strict=True)
            ax.plot(xs, ys, marker=marker, color=colour, label=label)
        if kind == "jpeg":
            ax.invert_xaxis()
        ax.set_xlabel(AXIS.get(kind, kind), fontsize=8)
        ax.set_ylabel("median max-sensitivity", fontsize=8)
        ax.set_ylim(bottom=0)
        ax.tick_params(labelsize=7)
        ax.grid(alpha=0.3)
    for ax in list(axes.flat)[len(kinds) :]:
        ax.axis("off")
    handles, labels = axes.flat[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="upper center", bbox_to_anchor=(0.5, 0.925), ncol=len(labels), fontsize=8)
    title = "How far each map moves as the photo changes (lower = steadier)"
    fig.suptitle(f"{title}\n{subtitle}" if subtitle else title, fontsize=9, y=0.99)
    return save_figure(fig, path, dpi=110, rect=(0, 0, 1, 0.885))
