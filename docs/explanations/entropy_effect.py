"""Where does entropy weighting help, where does it hurt? Paired per-stratum differences between each
map and the same map without entropy, read from an explanations.json written with --ablation.

    .venv/bin/python docs/explanations/entropy_effect.py docs/explanations/synthetic/explanations.json
"""

import json
import sys

import numpy as np

from medgrad_desktop.evaluation.stats import paired_bootstrap

PAIRS = [
    ("medgrad", "medgrad alpha=0", "MedGrad (replace) vs the same map without entropy"),
    ("medgrad multiply", "grad-eclip", "Grad-ECLIP x entropy vs Grad-ECLIP"),
]
KEYS = ["target.pointing", "target.energy_lift", "target.auroc", "mass.artefact", "mass.decoy"]
STRATA = ["target_entropy", "artefacts", "structure"]

with open(sys.argv[1]) as f:
    doc = json.load(f)
rows = doc["per_image"]


def vals(name, key, idx):
    return np.array([rows[i]["scores"].get(name, {}).get(key, np.nan) for i in idx], dtype=float)


print(
    f"N = {len(rows)}, seed {doc['seed']}, paired bootstrap 95 % intervals ({doc['bootstrap']['n_boot']} resamples)"
)
for a, b, title in PAIRS:
    print(f"\n{title}: {a} - {b}")
    groups = [("all", list(range(len(rows))))]
    for f in STRATA:
        levels = sorted({str(r["strata"][f]) for r in rows})
        groups += [
            (f"{f}={lv}", [i for i, r in enumerate(rows) if str(r["strata"][f]) == lv]) for lv in levels
        ]
    for gname, idx in groups:
        cells = []
        for k in KEYS:
            iv = paired_bootstrap(vals(a, k, idx), vals(b, k, idx), seed=doc["seed"])
            cells.append(f"{k} {iv.fmt(3)}{'*' if iv.excludes_zero else ''}")
        print(f"  {gname} (n={len(idx)}): " + "; ".join(cells))
