"""`medgrad predict` / `report` on the project store (and `--no-store`), `medgrad store info --json`
and `medgrad store export-reviews --csv`."""

from __future__ import annotations

import csv
import json

import medgrad_desktop.core.classify as classify_mod
from medgrad_desktop.cli import main
from medgrad_desktop.review import ReviewRecord, ReviewStore
from medgrad_desktop.store import SCHEMA_VERSION, STORE_NAME, ProjectStore
from medgrad_desktop.testing.sample_images import write_sample_folder


def _info(capsys) -> dict:
    capsys.readouterr()
    assert main(["store", "info", "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_predict_records_then_reuses(tmp_path, capsys, demo_like_weights, monkeypatch, data_dir):
    folder = tmp_path / "imgs"
    write_sample_folder(folder, 3)
    assert main(["predict", str(folder), "--weights", str(demo_like_weights), "--json"]) == 0
    first = json.loads(capsys.readouterr().out)["results"]
    info = _info(capsys)
    assert info == {
        "path": str(data_dir / STORE_NAME),
        "schema_version": SCHEMA_VERSION,
        "images": 3,
        "predictions": 3,
        "reviews": 0,
    }
    calls: list[int] = []
    real = classify_mod.classify  # `medgrad predict` imports it when it runs
    monkeypatch.setattr(
        classify_mod, "classify", lambda m, ims, **k: calls.append(len(ims)) or real(m, ims, **k)
    )
    assert main(["predict", str(folder), "--weights", str(demo_like_weights), "--json"]) == 0
    again = json.loads(capsys.readouterr().out)["results"]
    assert calls == [] and again == first  # every prediction came from the store
    assert main(["predict", str(folder), "--weights", str(demo_like_weights), "--json", "--no-store"]) == 0
    capsys.readouterr()
    assert calls == [3]


def test_no_store_touches_no_store(tmp_path, capsys, demo_like_weights, data_dir):
    folder = tmp_path / "imgs"
    write_sample_folder(folder, 2)
    assert main(["predict", str(folder), "--weights", str(demo_like_weights), "--no-store", "--json"]) == 0
    assert not (data_dir / STORE_NAME).exists()


def test_report_writes_predictions_and_maps_and_reads_reviews(tmp_path, capsys, demo_like_weights, data_dir):
    folder = tmp_path / "imgs"
    write_sample_folder(folder, 2)
    assert (
        main(
            [
                "report",
                str(folder),
                "--out",
                str(tmp_path / "out"),
                "--weights",
                str(demo_like_weights),
                "--format",
                "csv",
            ]
        )
        == 0
    )
    info = _info(capsys)
    assert info["images"] == 2 and info["predictions"] == 2
    store = ProjectStore.shared()
    assert store._query("SELECT count(*) FROM maps")[0][0] >= 2


def test_export_reviews_csv(tmp_path, capsys):
    rs = ReviewStore(reviewer="Dr CSV")
    rs.put(ReviewRecord("f" * 64, "=cmd.jpg", "overridden", "melanoma", "nevus", "asymmetric"))
    out = tmp_path / "reviews.csv"
    assert main(["store", "export-reviews", "--csv", str(out)]) == 0
    rows = list(csv.DictReader(out.open(encoding="utf-8")))
    assert len(rows) == 1
    r = rows[0]
    assert (r["image_sha256"], r["decision"], r["final_class"], r["reviewer"], r["file_name"]) == (
        "f" * 64,
        "overridden",
        "melanoma",
        "Dr CSV",
        "'=cmd.jpg",
    )
    assert main(["store", "export-reviews", "--csv", str(out)]) == 3  # never overwrites by accident
