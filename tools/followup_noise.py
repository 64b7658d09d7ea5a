"""The follow-up goal measured on the demo model for the pre-registered candidate rules
(docs/archive/FOLLOWUP-NOISE-PREREGISTRATION.md; pairs, candidates and the rule:
`evaluation.followup_noise`).

Development seed: counts every candidate and applies the choice (steps 1-3). Confirmation seed: counts
them again and applies the confirmation condition to the development run's winner (`--development`
names its JSON). Prints a markdown table and writes the counts and the decision as JSON to --out. Usage:
  python tools/followup_noise.py --n 40 --seed 7301 --out /tmp/followup-7301.json
  python tools/followup_noise.py --n 40 --seed 7402 --development /tmp/followup-7301.json
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import time
from pathlib import Path

from medgrad_desktop.core.classify import classify
from medgrad_desktop.core.model import load_model
from medgrad_desktop.evaluation.followup_noise import (
    CANDIDATES,
    KINDS,
    REFERENCE,
    choose,
    confirmed,
    counts,
    markdown_table,
    pairs,
    shown_as_change,
)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=40)
    ap.add_argument("--seed", type=int, required=True)
    ap.add_argument("--development", type=Path, help="the development run's JSON: confirm its winner")
    ap.add_argument("--out", type=Path)
    args = ap.parse_args()
    clip = load_model(None, device="cpu")
    started = time.monotonic()
    shown = {
        kind: shown_as_change(
            lambda imgs: classify(clip, imgs, batch_size=len(imgs)),
            pairs(kind, args.n, args.seed),
            CANDIDATES,
        )
        for kind in KINDS
    }
    results = {name: counts(shown, name) for name in CANDIDATES}
    lines = [f"Seed {args.seed}, {args.n} pairs per kind, {time.monotonic() - started:.0f} s", ""]
    lines += markdown_table(results, CANDIDATES)
    out: dict = {
        "seed": args.seed,
        "n": args.n,
        "counts": {k: dataclasses.asdict(c) for k, c in results.items()},
    }
    if args.development is None:
        winner, step = choose(results, {k: r.copies for k, r in CANDIDATES.items()})
        out |= {"winner": winner, "step": step}
        lines.append(f"\nDevelopment choice: {winner or 'none'}" + (f" (step {step})" if step else ""))
    else:
        dev = json.loads(args.development.read_text())
        winner, step = dev["winner"], dev["step"]
        ok = winner is not None and confirmed(results[winner], results[REFERENCE], step)
        out |= {"winner": winner, "step": step, "confirmed": ok}
        lines.append(
            f"\nConfirmation of {winner or 'no winner'}"
            + (f" (step {step}): {'confirmed' if ok else 'not confirmed'}" if winner else "")
        )
    if winner is not None:
        met = results[winner].meets_goals()
        lines.append(f"Goals (>= 90 % / 80 % / 80 %) for {winner}: {'met' if met else 'not met'}")
    print("\n".join(lines), flush=True)
    if args.out:
        args.out.write_text(json.dumps(out, indent=1) + "\n")


if __name__ == "__main__":
    main()
