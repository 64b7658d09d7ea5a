"""The confirmation table and the goals of the pre-registered test, read from an explanations.json.

    .venv/bin/python tools/explanation_goals.py docs/explanations/current/confirm/explanations.json \
        > docs/explanations/current/confirm/goals.md

Prints, per map: target pointing, counterfactual-difference pointing, target AUROC, deletion AUC,
criterion-phrase pointing and the top-block randomization Spearman; then each goal with the paired
95 % interval it rests on, and whether it is met. Nothing here is tuned: it only reads the file.
"""

import json
import sys

KEYS = [
    ("target.pointing", "Pointing (target) ↑"),
    ("counterfactual.pointing", "Pointing (cf. diff) ↑"),
    ("target.auroc", "AUROC (target) ↑"),
    ("deletion.grad-eclip/patch", "Deletion GE/patch ↓"),
    ("criterion.pointing", "Pointing (criterion phrase) ↑"),
]


def fmt(d: dict | None) -> str:
    if not d or not d.get("n"):
        return "n/a"
    return f"{d['mean']:.3f} [{d['lo']:.3f}, {d['hi']:.3f}]"


def main(path: str) -> None:
    with open(path) as f:
        doc = json.load(f)
    sc, df = doc["scores"], doc["differences"]
    top = doc.get("sanity", {}).get("checks", {}).get("top-1", {})
    names = [n for n, m in doc["maps"].items() if m["kind"] in ("method", "reference", "baseline")]
    names += [n for n, m in doc["maps"].items() if m["kind"] == "ablation" and n.startswith("medgrad form=")]
    print(
        f"Model {doc['model']['name']} (sha256 {doc['model']['weights_sha256'][:12]}), seed {doc['seed']}, "
        f"N = {doc['n']} (deletion N = {doc['n_perturbation']}, sanity N = {doc.get('sanity', {}).get('n', 0)})"
    )
    print(
        f"MedGrad default: combine={doc['maps']['medgrad']['params']['combine']}, "
        f"alpha={doc['maps']['medgrad']['params']['alpha']}\n"
    )
    print("| Map | " + " | ".join(t for _, t in KEYS) + " | Top-block Spearman ↓ |")
    print("|---|" + "---|" * (len(KEYS) + 1))
    for n in names:
        print(f"| {n} | " + " | ".join(fmt(sc[n].get(k)) for k, _ in KEYS) + f" | {fmt(top.get(n))} |")
    print("\nGoals (paired 95 % intervals):")
    ge, mg = sc["grad-eclip"]["target.auroc"]["mean"], sc["medgrad"]["target.auroc"]["mean"]
    goals = [
        ("MedGrad target AUROC >= Grad-ECLIP's - 0.02", f"{mg:.3f} vs {ge:.3f} - 0.02", mg >= ge - 0.02),
    ]
    for key in ("target.pointing", "target.auroc"):
        d = df["medgrad - random"][key]
        goals.append((f"MedGrad - random, {key}: interval excludes 0 (above)", fmt(d), d["lo"] > 0))
    d = df["medgrad - entropy"]["target.pointing"]
    goals.append(("MedGrad - local entropy, target pointing: interval above 0", fmt(d), d["lo"] > 0))
    for n, v in top.items():
        goals.append((f"top-block Spearman <= 0.5: {n}", fmt(v), v["mean"] <= 0.5))
    for n in ("grad-eclip", "medgrad"):
        v = sc[n].get("criterion.pointing")
        goals.append(
            (f"criterion-phrase pointing >= 0.5: {n}", fmt(v), bool(v and v["n"] and v["mean"] >= 0.5))
        )
    for text, value, ok in goals:
        print(f"- [{'met' if ok else 'NOT met'}] {text}: {value}")


if __name__ == "__main__":
    main(sys.argv[1])
