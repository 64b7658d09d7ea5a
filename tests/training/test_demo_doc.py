"""The demo model's metric tables in docs/TRAINING.md come from its metrics JSON, goals included."""

from __future__ import annotations

import json
from pathlib import Path

from medgrad_desktop.training.demo_doc import END, START, goal_rows, metrics_markdown, write_into

ROOT = Path(__file__).resolve().parents[2]
METRICS = ROOT / "docs" / "training" / "demo-metrics.json"


def _summary() -> dict:
    return json.loads(METRICS.read_text())


def test_goals_follow_the_numbers():
    s = _summary()
    t = s["test_unseen_seed"]
    t["balanced_accuracy"] = 0.86
    t["criteria_balanced_accuracy"] = dict.fromkeys(t["criteria_balanced_accuracy"], 0.9)
    t["criteria_balanced_accuracy"]["streaks"] = 0.74
    t["criteria_balanced_accuracy_mean"] = 0.88
    t["phrase_auroc_mean"] = 0.899
    s["cross_setting"]["balanced_accuracy_drop"] = 0.05
    met = {g.split(" >=")[0].split(" <=")[0]: (m, ok) for g, m, ok in goal_rows(s)}
    assert met["balanced accuracy over the 17 classes"] == ("0.860", True)
    assert met["each criterion's balanced accuracy"] == ("lowest: streaks 0.740", False)
    assert met["mean criteria balanced accuracy"][1] is True
    assert met["mean phrase AUROC"][1] is False
    assert met["cross-setting drop"][1] is True  # 5.0 points is within "at most 5"


def test_markdown_has_every_class_criterion_and_phrase():
    s = _summary()
    md = metrics_markdown(s, "Trained somehow.")
    t = s["test_unseen_seed"]
    for c in t["per_class"]:
        assert f"| {c.replace('_', ' ')} |" in md
    for c in t["criteria_balanced_accuracy"]:
        assert f"| {c.replace('_', ' ')} |" in md
    for p in t["phrase_auroc"]:
        assert f"| {p} |" in md
    assert md.startswith("Trained somehow.")
    assert f"{t['balanced_accuracy']:.3f}" in md


def test_written_between_the_markers_only(tmp_path):
    doc = tmp_path / "TRAINING.md"
    doc.write_text(f"# Title\n\nbefore\n{START}\nold table\n{END}\nafter\n")
    assert write_into(doc, "new table\n")
    assert doc.read_text() == f"# Title\n\nbefore\n{START}\nnew table\n{END}\nafter\n"
    bare = tmp_path / "bare.md"
    bare.write_text("no markers\n")
    assert not write_into(bare, "x")
    assert bare.read_text() == "no markers\n"


def test_the_training_doc_carries_the_tables_of_the_bundled_model():
    text = (ROOT / "docs" / "TRAINING.md").read_text()
    assert START in text and END in text
    block = text[text.index(START) + len(START) : text.index(END)]
    assert metrics_markdown(_summary(), "")[1:] in block  # the same tables, whatever the sentence before them
