"""DistributedDataParallel: two gloo processes under torchrun end with the same weights as one process
on the same global batches.

Why it holds: both runs draw the same global batch i = perm[i*B:(i+1)*B] (rank r takes every 2nd
element of it), augmentation depends on (seed, epoch, index) only, features are all-gathered with
gradients so every rank computes the global-batch loss, and DDP averages the gradients. Plain SGD
is used so weight differences reflect gradient differences directly (Adam would divide rounding
noise by tiny second moments). Tolerance: 2e-5 absolute on every weight after 4 steps, far below
the ~1e-3 a single step at this learning rate moves them.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

REPO = Path(__file__).resolve().parents[2]
TOL = 2e-5


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _train_args(data: Path, out: Path) -> list[str]:
    return [
        "train",
        str(data),
        "--out",
        str(out),
        "--random-init",
        "--arch",
        "MedGrad-Tiny",
        "--epochs",
        "2",
        "--batch-size",
        "4",
        "--optimizer",
        "sgd",
        "--lr",
        "0.05",
        "--weight-decay",
        "0",
        "--val-fraction",
        "0",
        "--test-fraction",
        "0",
        "--patience",
        "0",
        "--class-loss-weight",
        "1",
        "--criteria-loss-weight",
        "0.5",
        "--threads",
        "1",
        "--device",
        "cpu",
    ]


@pytest.fixture(scope="module")
def data(tmp_path_factory) -> Path:
    from medgrad_desktop.data.synth import SynthConfig
    from medgrad_desktop.data.synth_io import write_dataset

    out = tmp_path_factory.mktemp("ddp-data")
    write_dataset(out, 8, seed=5, config=SynthConfig(size=48, counterfactual=False))
    return out


def test_two_gloo_processes_match_one_process(data, tmp_path):
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(REPO), "HF_HUB_OFFLINE": "1"}
    env.pop("WORLD_SIZE", None)
    single = tmp_path / "single"
    r1 = subprocess.run(
        [sys.executable, "-m", "medgrad_desktop.cli", *_train_args(data, single)],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert r1.returncode == 0, r1.stderr[-3000:]
    ddp = tmp_path / "ddp"
    r2 = subprocess.run(
        [
            sys.executable,
            "-m",
            "torch.distributed.run",
            "--nproc_per_node=2",
            "--nnodes=1",
            f"--master_port={_free_port()}",
            "-m",
            "medgrad_desktop.cli",
            *_train_args(data, ddp),
        ],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert r2.returncode == 0, r2.stderr[-3000:]
    assert "2 process(es)" in r2.stderr and "1 process(es)" in r1.stderr
    a = load_file(str(single / "checkpoints" / "last.safetensors"))
    b = load_file(str(ddp / "checkpoints" / "last.safetensors"))
    assert a.keys() == b.keys()
    worst = max(float((a[k].float() - b[k].float()).abs().max()) for k in a)
    assert worst < TOL, f"max weight difference {worst:.2e} exceeds {TOL}"
    # and training did move the weights (the comparison is not vacuous)
    from medgrad_desktop.core.model import load_model

    fresh = load_model(random_init=True, architecture="MedGrad-Tiny", seed=0).model.state_dict()
    moved = max(float((a[k].float() - fresh[k].float()).abs().max()) for k in a if k in fresh)
    print(
        f"DDP vs single process: max weight difference {worst:.2e}; training moved weights by up to {moved:.2e}"
    )
    assert moved > 50 * TOL
    assert torch.isfinite(torch.stack([v.float().abs().max() for v in b.values()])).all()
