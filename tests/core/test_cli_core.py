"""`medgrad predict` and `medgrad explain` through the real entry point."""

from __future__ import annotations

import json

import numpy as np
from PIL import Image

from medgrad_desktop.cli import main


def test_predict_json_on_ham_with_a_bad_file(ham_dir, tmp_path, capsys):
    bad = tmp_path / "broken.jpg"
    bad.write_text("not an image")
    rc = main(
        [
            "predict",
            str(ham_dir / "images"),
            str(bad),
            "--random-init",
            "--arch",
            "MedGrad-Tiny",
            "--json",
            "--device",
            "cpu",
        ]
    )
    assert rc == 0
    out = json.loads(capsys.readouterr().out)
    rows = out["results"]
    assert len(rows) == 6
    errs = [r for r in rows if "error" in r]
    assert len(errs) == 1 and "broken.jpg" in errs[0]["error"]
    ok = [r for r in rows if "error" not in r]
    assert all(len(r["sha256"]) == 64 and 0 < r["confidence"] <= 1 for r in ok)
    assert "UNTRAINED" in " ".join(out["model"]["warnings"])


def test_explain_writes_overlays_and_stats(tmp_path, capsys):
    img = tmp_path / "lesion.png"
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (80, 100, 3), dtype=np.uint8)).save(img)
    out = tmp_path / "out"
    rc = main(
        [
            "explain",
            str(img),
            "--random-init",
            "--arch",
            "MedGrad-Tiny",
            "--device",
            "cpu",
            "--method",
            "all",
            "--target",
            "predicted",
            "--target",
            "irregular streaks",
            "--out",
            str(out),
        ]
    )
    assert rc == 0
    summary = json.loads((out / "lesion_explain.json").read_text())
    assert len(summary["maps"]) == 6
    for m in summary["maps"]:
        assert (out / m["file"]).exists()
        assert Image.open(out / m["file"]).size == (100, 80)
        assert m["raw_max"] >= m["raw_mean"] >= m["raw_min"] >= 0
        assert m["params"]["method"] == m["method"]
    assert {m["target_kind"] for m in summary["maps"]} == {"class", "criterion"}
