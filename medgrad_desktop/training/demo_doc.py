"""The demo model's metrics as Markdown, written into docs/TRAINING.md by `make demo`.

Why generated: the tables quote a dozen numbers per class, criterion and phrase; copied by hand they
drift from `docs/training/demo-metrics.json` whenever the model is retrained.
"""

from __future__ import annotations

from pathlib import Path

from medgrad_desktop import markdown as md
from medgrad_desktop.atomic import write_text_atomic

START, END = "<!-- demo-metrics: written by make_demo -->", "<!-- /demo-metrics -->"

# The goals the demo model is held to (issue "A demo model that reads text"); unseen seeds only.
GOAL_BALANCED_ACCURACY = 0.85
GOAL_CRITERION_MIN = 0.75
GOAL_CRITERIA_MEAN = 0.85
GOAL_PHRASE_AUROC = 0.90
GOAL_MAX_DROP_POINTS = 5.0


def _f(x: float | None) -> str:
    return "n/a" if x is None else f"{x:.3f}"


def _yes(ok: bool) -> str:
    return "yes" if ok else "**no**"


def goal_rows(summary: dict) -> list[tuple[str, str, bool]]:
    """(goal, measured, met) for each goal of the demo model, from `demo_summary`'s dict."""
    t = summary["test_unseen_seed"]
    crit = t["criteria_balanced_accuracy"]
    worst = min(crit, key=crit.get)
    drop = 100 * summary["cross_setting"]["balanced_accuracy_drop"]
    phrase = t.get("phrase_auroc_mean")
    return [
        (
            f"balanced accuracy over the 17 classes >= {GOAL_BALANCED_ACCURACY}",
            _f(t["balanced_accuracy"]),
            t["balanced_accuracy"] >= GOAL_BALANCED_ACCURACY,
        ),
        (
            f"each criterion's balanced accuracy >= {GOAL_CRITERION_MIN}",
            f"lowest: {worst.replace('_', ' ')} {_f(crit[worst])}",
            crit[worst] >= GOAL_CRITERION_MIN,
        ),
        (
            f"mean criteria balanced accuracy >= {GOAL_CRITERIA_MEAN}",
            _f(t["criteria_balanced_accuracy_mean"]),
            t["criteria_balanced_accuracy_mean"] >= GOAL_CRITERIA_MEAN,
        ),
        (
            f"mean phrase AUROC >= {GOAL_PHRASE_AUROC} on held-out phrasings",
            _f(phrase),
            phrase is not None and phrase >= GOAL_PHRASE_AUROC,
        ),
        (
            f"cross-setting drop <= {GOAL_MAX_DROP_POINTS:g} points",
            f"{drop:.1f} points (balanced accuracy)",
            drop <= GOAL_MAX_DROP_POINTS,
        ),
    ]


def metrics_markdown(summary: dict, how: str) -> str:
    """Tables of the unseen-seed and shifted test sets, per class, per criterion, per held-out phrase,
    and the goals; `how` is the sentence that says how this model was trained."""
    t, s = summary["test_unseen_seed"], summary["cross_setting"]
    seeds = summary["seeds"]
    out = [
        how,
        "",
        f"Measured by `make_demo` with generator `{summary['generator_version']}` (seeds: train {seeds['train']}, "
        f"unseen test {seeds['test']}, shifted {seeds['shift']}, split {seeds['split']}); temperature fitted on "
        f"the validation split; training took {summary['training_minutes']:.1f} min of wall time (epochs summed).",
        "",
        *md.table(
            [
                "test set",
                "n",
                "balanced acc. (17 classes)",
                "accuracy",
                "macro-F1",
                "ECE",
                "criteria balanced acc. (mean)",
                "held-out phrase AUROC (mean)",
                "in-batch matching (paper's metric)",
            ],
            [
                [
                    name,
                    m["n"],
                    *map(_f, (m["balanced_accuracy"], m["accuracy"], m["macro_f1"], m["ece"])),
                    _f(m["criteria_balanced_accuracy_mean"]),
                    _f(m.get("phrase_auroc_mean")),
                    _f(m["in_batch_matching_accuracy"]),
                ]
                for name, m in ((f"unseen seed, {t['setting']}", t), (s["setting"], s))
            ],
        ),
        "",
        f"**Cross-setting drop: {100 * s['balanced_accuracy_drop']:.1f} balanced-accuracy points** "
        f"({_f(t['balanced_accuracy'])} -> {_f(s['balanced_accuracy'])}; accuracy drop "
        f"{100 * s['accuracy_drop']:.1f} points).",
        "",
        "Per class on the unseen-seed test set:",
        "",
        *md.table(
            ["class", "precision", "recall", "n"],
            [
                [c.replace("_", " "), _f(v["precision"]), _f(v["recall"]), v["support"]]
                for c, v in t["per_class"].items()
            ],
        ),
        "",
        "7-point criteria on the unseen-seed test set (option predicted vs option drawn):",
        "",
        *md.table(
            ["criterion", "balanced accuracy", "accuracy"],
            [
                [c.replace("_", " "), _f(v), _f(t["criteria_accuracy"][c])]
                for c, v in t["criteria_balanced_accuracy"].items()
            ],
        ),
        "",
        'Held-out phrasings (never in a training caption), AUROC of cos(image, phrase) for "the finding is '
        'present", unseen-seed test set:',
        "",
        *md.table(["phrase", "AUROC"], [[p, _f(v)] for p, v in (t.get("phrase_auroc") or {}).items()]),
        "",
        "Against the goals set for this model (unseen seeds; nothing was tuned on the test seeds):",
        "",
        *md.table(["goal", "measured", "met"], [[g, m, _yes(ok)] for g, m, ok in goal_rows(summary)]),
    ]
    return "\n".join(out) + "\n"


def write_into(doc: Path, block: str) -> bool:
    """Replace the text between the START and END markers of `doc` with `block`; False (and `doc`
    untouched) when the markers are missing."""
    if not doc.exists():
        return False
    text = doc.read_text(encoding="utf-8")
    i, j = text.find(START), text.find(END)
    if i < 0 or j < i:
        return False
    write_text_atomic(doc, text[: i + len(START)] + "\n" + block + text[j:])
    return True
