"""The pre-registered attempt to make MedGrad's entropy weight robust
(docs/archive/ROBUST-WEIGHT-PREREGISTRATION.md; the candidates and the rule: `evaluation.robust_weight`).

Development seed: scores every candidate and applies rules 1-3. Confirmation seed: scores them again and
applies the confirmation rule to the development run's winner (`--development` names its JSON).
Writes robust-weight.json and robust-weight.md into --out. Usage:
  python tools/robust_weight.py --seed 6303 --n 40 --out docs/explanations/robust-weight/seed-6303
  python tools/robust_weight.py --seed 7404 --n 40 --out docs/explanations/robust-weight/seed-7404 \
      --development docs/explanations/robust-weight/seed-6303/robust-weight.json
"""

from __future__ import annotations

import argparse
import json
import platform
import shlex
import subprocess
import sys
from pathlib import Path

import torch

from medgrad_desktop.core.model import load_model
from medgrad_desktop.data.synth import GENERATOR_VERSION, SynthConfig
from medgrad_desktop.evaluation.robust_weight import (
    CANDIDATES,
    SEEDS,
    TIE_MARGIN,
    choose,
    confirm,
    goals,
    markdown_table,
    robust_weight_config,
    summarize,
)
from medgrad_desktop.evaluation.robustness import run_robustness
from medgrad_desktop.evaluation.samples import synthetic_samples

ROOT = Path(__file__).resolve().parent.parent


def _commit() -> str:
    def git(*a: str) -> str:
        return subprocess.run(["git", *a], cwd=ROOT, capture_output=True, text=True).stdout.strip()

    head = git("rev-parse", "--short", "HEAD") or "unknown"
    return head + (" + uncommitted changes" if git("status", "--porcelain", "--untracked-files=no") else "")


def _markdown(summary: dict, meta: dict, decision: dict) -> str:
    lines = [
        f"# Robust entropy weight: seed {meta['seed']} ({meta['role']})",
        "",
        f"`{meta['command']}`; commit {meta['commit']}; {meta['n']} images; {meta['seconds']:.0f} s on "
        f"{meta['machine']} ({meta['threads']} threads).",
        "",
        "Max-sensitivity: median over images of the worst of 2 draws; ratios: median of the per-image ratio "
        "with a 95 % bootstrap interval (2000 resamples of images); attraction: median mass on the artefact "
        "with it ÷ without it; target AUROC and pointing: means over the clean images.",
        "",
        *markdown_table(summary),
        "",
        "Copies whose predicted class changed (left out): "
        + ", ".join(f"{k} {v['changed']}/{v['copies']}" for k, v in summary["prediction_changed"].items())
        + ".",
        "",
        "## The rule",
        "",
    ]
    if meta["role"] == "development":
        q = ", ".join(f"{n} {'yes' if ok else 'no'}" for n, ok in decision["qualifies"].items())
        lines += [
            f"Gate (rule 1): {q}.",
            f"Within {TIE_MARGIN:g} of the lowest sensitivity ratio: {', '.join(decision['within_tie_margin']) or 'none'}.",
            f"Winner: **{decision['winner'] or 'none: the default stays'}**.",
        ]
    else:
        c = decision
        lines += [
            f"Winner of the development run: {c['winner']}.",
            f"(a) median ratio of max-sensitivity {c['winner']} / default: {c['ratio_to_default']['mean']:.2f} "
            f"[{c['ratio_to_default']['lo']:.2f}, {c['ratio_to_default']['hi']:.2f}], upper end below 1: "
            f"{'yes' if c['a_interval_below_1'] else 'no'}; (b) gate: {'yes' if c['b_gate'] else 'no'}.",
            f"Decision: **{'becomes the default' if c['passes'] else 'the default stays'}**.",
        ]
    if decision.get("goals"):
        g = decision["goals"]
        yes = {True: "met", False: "missed"}
        lines += [
            "",
            f"The issue's goals for {decision['goals_for']}: median sensitivity ratio to Grad-ECLIP with "
            f"upper end <= 1.05 {yes[g['sensitivity']]}; median attraction <= 1.05 "
            + ", ".join(f"{k} {yes[v]}" for k, v in g["attraction"].items())
            + f"; target AUROC >= Grad-ECLIP's - 0.02 {yes[g['target_auroc']]}.",
        ]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seed", type=int, required=True)
    ap.add_argument("--n", type=int, default=40)
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--development", type=Path, help="the development run's JSON: confirm its winner")
    ap.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    args = ap.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    clip = load_model()
    classes = tuple(c for c in SynthConfig().classes if c in clip.catalogue.class_ids)
    cfg = robust_weight_config(args.seed)

    def progress(i: int) -> None:
        print(f"  robust weight: {i}/{args.n} images", file=sys.stderr, flush=True)

    samples = synthetic_samples(args.n, args.seed, config=SynthConfig(classes=classes))
    result = run_robustness(clip, samples, cfg, progress)
    summary = summarize(result, args.seed)
    role = "confirmation" if args.development else "development"
    if args.development:
        dev = json.loads(args.development.read_text())
        winner = dev["decision"]["winner"]
        decision = confirm(summary, winner) if winner else {"winner": None, "passes": False}
    else:
        decision = choose(summary)
        winner = decision["winner"]
    if winner:
        decision |= {"goals_for": winner, "goals": goals(summary, winner)}
    meta = {
        "schema": "medgrad-robust-weight/1",
        "command": "python " + " ".join(shlex.quote(a) for a in [sys.argv[0], *(argv or sys.argv[1:])]),
        "commit": _commit(),
        "role": role,
        "preregistered_seeds": SEEDS,
        "n": len(result.records),
        "seed": args.seed,
        "dataset": {"name": "synthetic", "generator_version": GENERATOR_VERSION, "classes": list(classes)},
        "model": clip.card.to_dict(),
        "machine": f"{platform.processor() or platform.machine()}, {clip.device}",
        "threads": torch.get_num_threads(),
        "seconds": result.seconds,
        "candidates": {n: p.to_dict() for n, p in CANDIDATES.items()},
        "explained": "the predicted class of the clean model-input image, for every copy",
    }
    args.out.mkdir(parents=True, exist_ok=True)
    doc = {"meta": meta, "summary": summary, "decision": decision, "per_image": result.records}
    (args.out / "robust-weight.json").write_text(json.dumps(doc, indent=1, allow_nan=True) + "\n")
    (args.out / "robust-weight.md").write_text(_markdown(summary, meta, decision))
    print(f"wrote {args.out}/robust-weight.json and robust-weight.md ({result.seconds:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
