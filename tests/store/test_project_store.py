"""The SQLite project store: round trips, content keys surviving a moved folder, one-time import of the
old JSON review files, schema migration, two real processes writing at once, kill -9 mid-write, a
damaged store set aside, and the size per image."""

from __future__ import annotations

import json
import multiprocessing
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from medgrad_desktop.core.classify import classify
from medgrad_desktop.core.imageio import list_images, load_image
from medgrad_desktop.review import ReviewRecord, ReviewStore
from medgrad_desktop.store import SCHEMA_VERSION, ProjectStore, StoreError
from medgrad_desktop.store.schema import migrate
from medgrad_desktop.testing.store_writer import fake_sha, write_decisions

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def prediction(tiny_model):
    rgb = np.random.default_rng(3).integers(0, 256, (64, 64, 3), dtype=np.uint8)
    return classify(tiny_model, [rgb])[0]


def _images(folder: Path, n: int) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    for i in range(n):
        Image.fromarray(rng.integers(0, 256, (32, 40, 3), dtype=np.uint8)).save(folder / f"img{i}.png")
    return list_images(folder)


def test_round_trip_and_known_hashes(tmp_path: Path, prediction):
    store = ProjectStore(tmp_path / "s.sqlite3")
    paths = _images(tmp_path / "f", 3)
    for p in paths:
        img = load_image(p)
        store.record_image(img.sha256, p, img.size)
        store.put_prediction(img.sha256, prediction)
    known = store.known_hashes(paths)
    assert known == {p: load_image(p).sha256 for p in paths}
    back = store.predictions(known.values(), prediction.model_sha256)
    assert len(back) == 3 and all(v == prediction for v in back.values())
    os.utime(paths[0], ns=(1, 1))  # changed since read: must be hashed again
    assert paths[0] not in store.known_hashes(paths)
    info = store.info()
    assert info == {
        "path": str(tmp_path / "s.sqlite3"),
        "schema_version": SCHEMA_VERSION,
        "images": 3,
        "predictions": 3,
        "reviews": 0,
    }
    store.close()


def test_moved_folder_keeps_predictions_and_reviews(tmp_path: Path, prediction):
    root = tmp_path / "data"
    paths = _images(tmp_path / "visit", 2)
    reviews = ReviewStore(root=root, reviewer="Dr Test")
    store = reviews.store
    for p in paths:
        img = load_image(p)
        store.record_image(img.sha256, p, img.size)
        store.put_prediction(img.sha256, prediction)
    sha0 = load_image(paths[0]).sha256
    reviews.put(ReviewRecord(sha0, "img0.png", "overridden", "melanoma", "nevus", "irregular border"))
    moved = tmp_path / "renamed" / "visit-moved"
    moved.parent.mkdir()
    shutil.move(tmp_path / "visit", moved)
    new_paths = list_images(moved)
    assert store.known_hashes(new_paths) == {}  # new paths: hashed once more ...
    shas = [load_image(p).sha256 for p in new_paths]
    assert set(store.predictions(shas, prediction.model_sha256)) == {
        (s, prediction.model_sha256) for s in shas
    }
    again = ReviewStore(root=root)  # ... and the decision is there, with who made it
    rec = again.get(sha0)
    assert (rec.decision, rec.final_class, rec.note, rec.reviewer) == (
        "overridden",
        "melanoma",
        "irregular border",
        "Dr Test",
    )
    store.close()


def test_old_json_reviews_migrate_once(tmp_path: Path):
    root = tmp_path / "data"
    (root / "reviews").mkdir(parents=True)
    old = {
        "folder": "/clinic/2023",
        "records": [
            {
                "image_sha256": "a" * 64,
                "file_name": "x.jpg",
                "decision": "accepted",
                "final_class": "nevus",
                "predicted_class": "nevus",
                "note": "ok",
                "updated": "2024-01-02T10:00:00+00:00",
            },
            {
                "image_sha256": "b" * 64,
                "file_name": "y.jpg",
                "decision": "overridden",
                "final_class": "melanoma",
                "predicted_class": "nevus",
                "note": "",
                "updated": "2024-01-02T10:05:00+00:00",
            },
            {"image_sha256": "c" * 64, "decision": "bogus"},
        ],
    }
    legacy = root / "reviews" / "0123456789abcdef.json"
    legacy.write_text(json.dumps(old), encoding="utf-8")
    before = legacy.read_bytes()
    rs = ReviewStore(root=root)
    assert {k: (r.decision, r.final_class) for k, r in rs.records.items()} == {
        "a" * 64: ("accepted", "nevus"),
        "b" * 64: ("overridden", "melanoma"),
    }
    rs.put(ReviewRecord("a" * 64, "x.jpg", "overridden", "melanoma", "nevus", "changed my mind"))
    rs.store.close()
    rs2 = ReviewStore(root=root)  # reopening imports nothing again: the newer decision stays
    assert rs2.get("a" * 64).decision == "overridden"
    imports = [e for e in rs2.store.audit_events() if e["event"] == "reviews_imported"]
    assert len(imports) == 1 and imports[0]["records"] == 2
    assert legacy.read_bytes() == before  # the old file is left as it was
    rs2.store.close()


def test_schema_migrates_an_older_store(tmp_path: Path):
    path = tmp_path / "old.sqlite3"
    conn = sqlite3.connect(path, isolation_level=None)
    assert migrate(conn, upto=1) == 1
    conn.execute(
        "INSERT INTO reviews(image_sha256, decision, final_class, note, updated) "
        "VALUES ('d', 'accepted', 'nevus', 'kept', '2024-05-01T00:00:00+00:00')"
    )
    conn.close()
    store = ProjectStore(path)
    assert store.schema_version() == SCHEMA_VERSION > 1
    assert store.get_review("d")["note"] == "kept" and store.get_review("d")["reviewer"] == ""
    store.close()
    conn = sqlite3.connect(path)
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    conn.close()
    with pytest.raises(StoreError, match="newer"):
        ProjectStore(path)


def test_two_processes_lose_no_decision(tmp_path: Path):
    path = tmp_path / "shared.sqlite3"
    ProjectStore(path).close()
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=write_decisions, args=(str(path), tag, 150, 10)) for tag in ("win1", "win2")]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
        assert p.exitcode == 0
    store = ProjectStore(path)
    got = {r["image_sha256"]: r for r in store.reviews()}
    for tag in ("win1", "win2"):
        for i in range(150):
            r = got[fake_sha(tag, i)]
            assert (r["reviewer"], r["note"]) == (tag, f"by {tag}")
    shared = got[fake_sha("shared", 0)]
    assert shared["reviewer"] in ("win1", "win2")
    saved = [e for e in store.audit_events() if e["event"] == "review_saved"]
    assert len(saved) == 2 * 150 + 2 * 15  # every decision of both windows is in the trail
    assert store.integrity_check() == "ok"
    store.close()


def test_kill_9_during_writes_leaves_a_consistent_store(tmp_path: Path):
    path = tmp_path / "killed.sqlite3"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "medgrad_desktop.testing.store_writer", str(path), "k", "0"],
        stdout=subprocess.PIPE,
        env=env,
        cwd=ROOT,
    )
    assert proc.stdout.readline().strip() == b"ready"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:  # let it get well into its loop
        time.sleep(0.3)
        probe = ProjectStore(path)
        n = probe.info()["reviews"]
        probe.close()
        if n >= 50:
            break
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(10)
    assert proc.returncode == -signal.SIGKILL
    store = ProjectStore(path)
    assert store.notice is None
    assert store.integrity_check() == "ok"
    reviews = store.reviews()
    assert len(reviews) >= 50
    saved = {e["file_sha256"] for e in store.audit_events() if e["event"] == "review_saved"}
    assert {r["image_sha256"] for r in reviews} == saved  # each decision and its audit line: both or neither
    store.close()


def test_damaged_store_is_set_aside_and_a_new_one_started(tmp_path: Path):
    path = tmp_path / "project.sqlite3"
    store = ProjectStore(path)
    store.put_review({"image_sha256": "e" * 64, "decision": "accepted", "reviewer": "x"})
    store.close()
    data = bytearray(path.read_bytes())
    data[0:100] = os.urandom(100)  # the header: SQLite no longer recognises the file
    path.write_bytes(bytes(data))
    fresh = ProjectStore(path)
    assert fresh.notice and "damaged" in fresh.notice and "set aside" in fresh.notice
    assert fresh.set_aside.exists() and fresh.set_aside.read_bytes() == bytes(data)  # nothing lost
    assert fresh.info()["reviews"] == 0 and fresh.integrity_check() == "ok"
    assert [e["event"] for e in fresh.audit_events()] == ["store_set_aside"]
    fresh.close()


def test_store_size_per_image_without_maps(tmp_path: Path, prediction):
    store = ProjectStore(tmp_path / "size.sqlite3")
    n = 1000
    folder = tmp_path / "clinic" / "2024-dermoscopy-visits"
    folder.mkdir(parents=True)
    for i in range(n):
        sha = fake_sha("size", i)
        source = folder / f"ISIC_{i:07d}.jpg"
        source.write_bytes(b"x")
        store.record_image(sha, source, (1024, 768))
        store.put_prediction(sha, prediction)
        if i % 2 == 0:
            store.put_review(
                {
                    "image_sha256": sha,
                    "file_name": f"ISIC_{i:07d}.jpg",
                    "decision": "accepted",
                    "final_class": prediction.predicted_id,
                    "predicted_class": prediction.predicted_id,
                    "note": "regular network, symmetric",
                    "reviewer": "Dr Example",
                }
            )
    store.checkpoint()
    size = (tmp_path / "size.sqlite3").stat().st_size
    per_image = size / n
    print(f"store size per image: {per_image:.0f} bytes")
    assert per_image <= 5 * 1024
    store.close()
