"""Determinism on the CPU: two runs over the demo folder (or, while the demo is not bundled, a folder
of synthetic dermoscopy images with a JPEG, an EXIF-rotated file and an unreadable one) give the same
CSV byte for byte.

The report CSV carries one provenance timestamp, `created`, the same in every row of a report. With the
clock held fixed the two CSVs must be byte-identical; with the real clock `created` must be the only
column that differs. Two separate processes must agree too (same machine, same thread count: a
different number of threads may change float summation order in the last digits).
"""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from medgrad_desktop.core.imageio import list_images
from medgrad_desktop.resources_path import demo_dir

ROOT = Path(__file__).resolve().parents[2]
PROVENANCE_COLUMNS = ("created",)  # the report's own time stamp: one value per report, not per row


@pytest.fixture(scope="module")
def demo_folder(tmp_path_factory) -> Path:
    if list_images(demo_dir()):
        return demo_dir()
    from medgrad_desktop.data.synth import render_sample

    d = tmp_path_factory.mktemp("demo-substitute")
    for seed in range(5):
        Image.fromarray(render_sample(seed).image).save(d / f"synth{seed}.png")
    Image.fromarray(render_sample(10).image).save(d / "synth10.jpg", quality=90)
    exif = Image.Exif()
    exif[0x0112] = 6
    Image.fromarray(np.rot90(render_sample(11).image)).save(d / "rotated.jpg", exif=exif.tobytes())
    (d / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n broken")
    return d


def _model_args() -> list[str]:
    demo_model = demo_dir() / "model" / "demo-model.safetensors"
    if demo_model.exists():
        return ["--device", "cpu"]
    return ["--random-init", "--arch", "MedGrad-Tiny", "--device", "cpu"]


def _report_csv(folder: Path, out: Path, capsys) -> bytes:
    from medgrad_desktop.cli import main

    code = main(["report", str(folder), "--out", str(out), "--format", "csv", *_model_args()])
    err = capsys.readouterr().err
    assert code == 0, err
    return (out / "report.csv").read_bytes()


def _without(data: bytes, columns: tuple[str, ...]) -> tuple[list[str], list[list[str]], set[str]]:
    rows = list(csv.reader(io.StringIO(data.decode("utf-8"), newline="")))
    header = rows[0]
    keep = [i for i, c in enumerate(header) if c not in columns]
    dropped = {r[i] for r in rows[1:] for i, c in enumerate(header) if c in columns}
    return [header[i] for i in keep], [[r[i] for i in keep] for r in rows[1:]], dropped


class _FixedClock(datetime):
    @classmethod
    def now(cls, tz=None):
        return datetime(2026, 1, 2, 3, 4, 5, tzinfo=tz or UTC)


def test_two_runs_give_byte_identical_csv(demo_folder: Path, tmp_path: Path, capsys, monkeypatch):
    import medgrad_desktop.reports.builder as builder

    monkeypatch.setattr(builder, "datetime", _FixedClock)
    a = _report_csv(demo_folder, tmp_path / "a", capsys)
    b = _report_csv(demo_folder, tmp_path / "b", capsys)
    assert a == b
    header, rows, created = _without(a, PROVENANCE_COLUMNS)
    assert created == {"2026-01-02T03:04:05+00:00"}
    assert len(rows) == len(list_images(demo_folder))
    if demo_folder != demo_dir():
        assert [r[header.index("image")] for r in rows if r[header.index("error")]] == ["IMG-0001"], (
            "broken.png (first in name order) is the one error row"
        )
    assert all(r[header.index("predicted_id")] for r in rows if not r[header.index("error")])


def test_real_clock_changes_only_the_provenance_time(demo_folder: Path, tmp_path: Path, capsys):
    """Separately: a run in another process agrees with this one in every column but `created`."""
    a = _report_csv(demo_folder, tmp_path / "a", capsys)
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", MEDGRAD_DATA_DIR=str(tmp_path / "data"))
    script = (
        f"import sys, torch; torch.set_num_threads({torch_threads()}); "
        "from medgrad_desktop.cli import main; sys.exit(main(sys.argv[1:]))"
    )
    r = subprocess.run(
        [
            sys.executable,
            "-c",
            script,
            "report",
            str(demo_folder),
            "--out",
            str(tmp_path / "b"),
            "--format",
            "csv",
            *_model_args(),
        ],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=600,
    )
    assert r.returncode == 0, r.stderr[-2000:]
    b = (tmp_path / "b" / "report.csv").read_bytes()
    ha, ra, ca = _without(a, PROVENANCE_COLUMNS)
    hb, rb, cb = _without(b, PROVENANCE_COLUMNS)
    assert (ha, ra) == (hb, rb), "a column other than the provenance time differs between runs"
    assert len(ca) == 1 and len(cb) == 1, "one time stamp per report, the same in every row"


def torch_threads() -> int:
    import torch

    return torch.get_num_threads()


def test_predict_json_is_identical_across_runs(demo_folder: Path, capsys):
    from medgrad_desktop.cli import main

    outs = []
    for _ in range(2):
        assert main(["predict", str(demo_folder), "--json", *_model_args()]) == 0
        outs.append(capsys.readouterr().out)
    assert outs[0] == outs[1]
    results = json.loads(outs[0])["results"]
    assert len(results) == len(list_images(demo_folder))
