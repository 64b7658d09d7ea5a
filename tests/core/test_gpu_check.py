"""The parts of benchmarks/gpu_check.py a CPU can run: without CUDA it stops at once with a message,
its comparisons find zero difference between a model and its copy and a real one after a change of
weights, and its section names every figure and check it measured."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
import torch

from medgrad_desktop.commands import bench
from tests.conftest import random_rgb

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def gc():
    spec = importlib.util.spec_from_file_location("gpu_check", ROOT / "benchmarks" / "gpu_check.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the no-CUDA path")
def test_without_cuda_the_check_and_the_bench_stop_with_a_message(gc, capsys, tmp_path):
    assert gc.main(["--out", str(tmp_path)]) == 2
    assert "needs a CUDA GPU" in capsys.readouterr().err
    assert not (tmp_path / "gpu_check.json").exists()
    args = type(
        "A",
        (),
        {
            "threads": None,
            "arch": "MedGrad-Tiny",
            "device": "cuda",
            "images": 1,
            "repeats": 1,
            "loops": False,
            "gpu_batch": 2,
            "json": True,
        },
    )()
    assert bench.run(args) == 2
    assert "no CUDA GPU is available" in capsys.readouterr().err


def test_map_difference_is_zero_for_a_copy_and_not_for_other_weights(gc, tiny_model):
    images = [random_rgb(60, 80, 1), random_rgb(50, 50, 2)]
    twin = gc.same_weights(tiny_model, "cpu")
    same = gc.map_difference(tiny_model, twin, images)
    assert same["ok"] and same["normalized"] == 0.0 and same["score"] == 0.0
    with torch.no_grad():
        for p in twin.model.visual.parameters():
            p.add_(0.01 * torch.randn_like(p))
    other = gc.map_difference(tiny_model, twin, images)
    assert not other["ok"] and other["normalized"] > 1e-3


def test_precision_agreement_reports_each_dtype(gc, tiny_model):
    res = gc.precision_agreement(tiny_model, [random_rgb(40, 40, i) for i in range(3)])
    assert res["images"] == 3
    for name in ("fp16", "bf16"):  # autocast applies on CUDA only: on the CPU both equal fp32
        assert res[name] == {"top1_disagreements": 0, "max_probability_difference": 0.0, "ok": True}


def test_section_names_every_measure_and_check(gc):
    stat = {"median": 1.1, "q1": 1.0, "q3": 1.2, "min": 0.9, "max": 1.3, "n": 15}
    gpu = {"batch": 64}
    for n in ("fp16", "bf16", "fp32"):
        gpu[f"classify_{n}_images_per_s"], gpu[f"classify_{n}_peak_gib"] = 5000.0, 1.5
    for m in ("gradcam", "grad_eclip", "medgrad"):
        gpu[f"{m}_all17_images_per_s"], gpu[f"{m}_peak_gib"] = 900.0, 7.0
    res = {
        "date": "d",
        "commit": "c",
        "gpu_name": "NVIDIA H200",
        "gpu_memory_gib": 139.8,
        "cuda": "13.0",
        "torch": "2.14.1",
        "cpu": "x",
        "bench": {
            "setup": {"prompts": 17},
            "gpu": gpu,
            **{m: {"ratio_to_forward": stat} for m in ("gradcam", "grad_eclip", "medgrad")},
        },
        "checks": {
            "maps": {"normalized": 2e-6, "raw_relative": 1e-6, "score": 1e-7, "ok": True},
            "precision": {
                "images": 24,
                "fp16": {"top1_disagreements": 0, "max_probability_difference": 0.002, "ok": True},
                "bf16": {"top1_disagreements": 1, "max_probability_difference": 0.02, "ok": False},
            },
            "oom": {
                "filled_gib": 139.0,
                "fell_back": True,
                "message": "m",
                "max_difference_to_cpu": 1e-6,
                "next_image_on_gpu": True,
                "ok": True,
            },
        },
    }
    text = gc.section(res)
    assert text.startswith(gc.SECTION) and "NVIDIA H200" in text
    assert (
        text.count("images/s") == 6 and "medgrad: prediction + all 17 maps, batch 64 | 900 images/s" in text
    )
    assert "bf16 vs fp32" in text and "FAIL" in text and text.count("pass") == 3
    res["checks"]["oom"] = {
        "filled_gib": 139.0,
        "ok": False,
        "error": "RuntimeError: CUBLAS_STATUS_ALLOC_FAILED",
    }
    assert "CUBLAS_STATUS_ALLOC_FAILED" in gc.section(res)
