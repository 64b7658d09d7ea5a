"""Does the reader-study analysis recover simulated readers' accuracy, reliance on the AI and speed?
The coverage of each per-reader 95 % interval over many simulated studies (goal: at least 95 %).

    python benchmarks/study_recovery.py [--studies 200] [--boot 2000] [--seed 0] [--append-docs]

Each study: 4 readers x 80 cases x 3 arms (no AI, AI prediction, AI prediction with a map), 10 % of
each session's cases read twice, plan from `study.plan.make_plan`; see `study.recovery` for the
readers' and the AI's parameters.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks._common import BENCH_DOC, git_commit, load_average, machine_line, machine_meta, write_section

HEADING = "## Reader-study recovery"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--studies", type=int, default=200)
    ap.add_argument("--boot", type=int, default=2000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--append-docs", action="store_true", help=f"rewrite '{HEADING}' in {BENCH_DOC.name}")
    args = ap.parse_args()
    load, commit = load_average(), git_commit(mark_dirty=True)

    from medgrad_desktop.study.recovery import Design, run_recovery

    d = Design()
    t = time.perf_counter()
    rows = run_recovery(args.studies, design=d, n_boot=args.boot, seed=args.seed)
    seconds = time.perf_counter() - t
    table = [
        "| quantity (per reader and arm) | intervals | coverage | mean width | mean abs. error | bias |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        table.append(
            f"| {r.quantity} | {r.intervals} | **{r.coverage:.1%}** | {r.mean_width:.3f} | "
            f"{r.mean_abs_error:.3f} | {r.bias:+.3f} |"
        )
    section = "\n".join(
        [
            HEADING,
            "",
            f"`python benchmarks/study_recovery.py --studies {args.studies} --boot {args.boot}`: "
            f"{args.studies} simulated studies of {d.readers} readers x {d.cases} cases x 3 arms "
            f"(`study.recovery`); readers' accuracy {d.accuracy[0]}-{d.accuracy[1]}, reliance "
            f"{d.reliance[0]}-{d.reliance[1]}, median time {d.median_seconds[0]:.0f}-{d.median_seconds[1]:.0f} s, "
            f"AI accuracy {d.ai_accuracy[0]}-{d.ai_accuracy[1]}. Intervals over the reader's cases: exact "
            "binomial (accuracy), BCa bootstrap (reliance), order statistics (median; widths and errors "
            f"relative to the true median). Goal: coverage >= 95 %. {seconds:.0f} s. This table covers "
            "only the range above: a reliance near 0.1, or few AI-wrong cases per reader, is not measured.",
            "",
            *table,
            "",
            machine_line(machine_meta(load, commit)),
        ]
    )
    print(section)
    if args.append_docs:
        write_section(BENCH_DOC, section)


if __name__ == "__main__":
    main()
