"""`predict` and `report` under torchrun: two gloo processes share a folder's passes and rank 0 prints or
writes exactly what one process does (the same numbers, not merely close ones, because each image is
computed in the same pass either way). The folder has an unreadable file and an odd number of passes,
so the ranks get unequal shares."""

from __future__ import annotations

import csv
import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

from tests.conftest import random_rgb

REPO = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("torchrun-imgs")
    for i, (h, w) in enumerate([(50, 70), (64, 64), (80, 40), (60, 60), (70, 50), (48, 96), (90, 90)]):
        Image.fromarray(random_rgb(h, w, 20 + i)).save(d / f"img_{i}.png")
    (d / "img_3b.png").write_bytes(b"not an image")
    return d


def _env() -> dict:
    env = {
        **os.environ,
        "OMP_NUM_THREADS": "1",
        "PYTHONPATH": str(REPO),
        "HF_HUB_OFFLINE": "1",
        "QT_QPA_PLATFORM": "offscreen",
    }
    for k in ("WORLD_SIZE", "RANK", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT"):
        env.pop(k, None)
    return env


def _cli(args: list[str], nproc: int) -> subprocess.CompletedProcess:
    launcher = (
        [sys.executable]
        if nproc == 1
        else [
            sys.executable,
            "-m",
            "torch.distributed.run",
            f"--nproc_per_node={nproc}",
            "--nnodes=1",
            f"--master_port={_free_port()}",
        ]
    )
    r = subprocess.run(
        [*launcher, "-m", "medgrad_desktop.cli", *args, "--device", "cpu", "--batch-size", "2"],
        cwd=REPO,
        env=_env(),
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert r.returncode == 0, r.stderr[-3000:]
    return r


def test_predict_two_gloo_processes_print_what_one_process_prints(folder):
    one = _cli(["predict", str(folder), "--json"], 1)
    two = _cli(["predict", str(folder), "--json"], 2)
    assert two.stdout.count('"results"') == 1  # rank 0 alone prints
    a, b = json.loads(one.stdout), json.loads(two.stdout)
    assert a == b
    assert [Path(r["file"]).name for r in a["results"]][:3] == ["img_0.png", "img_1.png", "img_2.png"]
    assert sum("error" in r for r in a["results"]) == 1 and len(a["results"]) == 8
    text_one = _cli(["predict", str(folder)], 1).stdout
    assert _cli(["predict", str(folder)], 2).stdout == text_one and text_one.count("7-point score") == 7


def _rows(path: Path) -> list[dict]:
    with open(path, encoding="utf-8", newline="") as f:
        return [{k: v for k, v in r.items() if k != "created"} for r in csv.DictReader(f)]


def test_report_two_gloo_processes_write_the_report_one_process_writes(folder, tmp_path):
    args = ["report", str(folder), "--format", "csv,html", "--method", "all"]
    _cli([*args, "--out", str(tmp_path / "one")], 1)
    two = _cli([*args, "--out", str(tmp_path / "two")], 2)
    assert two.stdout.count("wrote ") == 3  # csv, html, manifest: written once, by rank 0
    a, b = _rows(tmp_path / "one" / "report.csv"), _rows(tmp_path / "two" / "report.csv")
    assert len(a) == 8 and sum(bool(r["error"]) for r in a) == 1
    assert a == b  # every cell but the creation time, to the last printed digit
    assert sorted(p.name for p in (tmp_path / "two").iterdir()) == sorted(
        p.name for p in (tmp_path / "one").iterdir()
    )
