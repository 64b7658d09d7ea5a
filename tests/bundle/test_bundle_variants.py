"""The bundle's size rules never drop a library that a kept library links (checked on the installed
wheels with readelf), drop the CUDA files no path of the app loads, and leave the GPU-only libraries in
the GPU variant only."""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    "dest",
    [
        "nvidia/cu13/lib/libnvrtc.alt.so.13",
        "nvidia/cu13/lib/libcusolverMg.so.12",
        "nvidia/cu13/lib/libnvperf_host.so",
        "nvidia/nccl/lib/libnccl_device.bc",
        "nvidia/cu13/lib/libcufftw.so.12",
    ],
)
@pytest.mark.parametrize("variant", ["gpu", "cpu"])
def test_unused_cuda_files_are_dropped_in_every_variant(cfg, dest, variant):
    assert not cfg.keep(dest, variant)


@pytest.mark.parametrize(
    "dest",
    [
        "nvidia/cudnn/lib/libcudnn_engines_precompiled.so.9",
        "nvidia/cudnn/lib/libcudnn_adv.so.9",
        "nvidia/cu13/lib/libcusolver.so.12",
        "torch/lib/libtorch_cuda_linalg.so",
    ],
)
def test_gpu_only_libraries_stay_in_the_gpu_variant_only(cfg, dest):
    assert cfg.keep(dest, "gpu") and cfg.keep(dest) and not cfg.keep(dest, "cpu")


@pytest.mark.parametrize(
    "dest",
    [
        "nvidia/cudnn/lib/libcudnn.so.9",
        "nvidia/cu13/lib/libcublasLt.so.13",
        "nvidia/nccl/lib/libnccl.so.2",
        "nvidia/cu13/lib/libnvJitLink.so.13",
        "nvidia/cu13/lib/libnvrtc.so.13",
        "torch/lib/libtorch_cuda.so",
    ],
)
def test_libraries_torch_links_stay_in_every_variant(cfg, dest):
    assert cfg.keep(dest, "gpu") and cfg.keep(dest, "cpu")


def test_variant_comes_from_the_environment_and_bad_values_stop_the_build(cfg, monkeypatch):
    monkeypatch.delenv(cfg.VARIANT_ENV, raising=False)
    assert cfg.variant() == "gpu"
    monkeypatch.setenv(cfg.VARIANT_ENV, "CPU")
    assert cfg.variant() == "cpu"
    monkeypatch.setenv(cfg.VARIANT_ENV, "tiny")
    with pytest.raises(SystemExit, match="MEDGRAD_BUNDLE_VARIANT"):
        cfg.variant()


def _needed(lib: Path) -> list[str]:
    out = subprocess.run(["readelf", "-d", str(lib)], capture_output=True, text=True, check=True).stdout
    return [line.split("[", 1)[1].rstrip("]") for line in out.splitlines() if "(NEEDED)" in line]


@pytest.mark.skipif(shutil.which("readelf") is None, reason="needs readelf (binutils)")
@pytest.mark.parametrize("variant", ["gpu", "cpu"])
def test_no_kept_library_links_a_dropped_one(cfg, variant):
    site = Path(torch.__file__).resolve().parents[1]
    libs = {
        p.name: p
        for d in [site / "torch" / "lib", *sorted((site / "nvidia").glob("*/lib"))]
        if d.is_dir()
        for p in d.iterdir()
        if ".so" in p.name
    }
    if not any(n.startswith("libcudnn") for n in libs):
        pytest.skip("torch without the CUDA wheels: nothing to check")
    dest = {n: str(p.relative_to(site)) for n, p in libs.items()}
    kept = [n for n in libs if cfg.keep(dest[n], variant)]
    broken = {n: [d for d in _needed(libs[n]) if d in libs and not cfg.keep(dest[d], variant)] for n in kept}
    assert {n: d for n, d in broken.items() if d} == {}
    assert len(kept) < len(libs)  # the rules do drop something here


def test_bundle_size_counts_by_package_and_judges_the_goal(tmp_path):
    spec = importlib.util.spec_from_file_location("bundle_size", ROOT / "benchmarks" / "bundle_size.py")
    bs = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bs)
    app = tmp_path / "MedGradDesktop"
    (app / "_internal" / "nvidia" / "cu13" / "lib").mkdir(parents=True)
    (app / "_internal" / "torch" / "lib").mkdir(parents=True)
    (app / "_internal" / "nvidia" / "cu13" / "lib" / "libbig.so.13").write_bytes(b"\1" * (6 * bs.MIB))
    (app / "_internal" / "torch" / "lib" / "libsmall.so").write_bytes(b"\1" * 4096)
    (app / "MedGradDesktop").write_bytes(b"\1" * 8192)
    sizes = bs.by_package(app)
    assert sizes["nvidia/cu13"] >= 6 * bs.MIB and 4096 <= sizes["torch"] < bs.MIB
    assert sizes["(launcher with the Python archive)"] >= 8192
    text = bs.section([("gpu", app)])
    assert "| gpu | **0.01 GiB**" in text and "| yes |" in text
    assert "`nvidia/cu13` 6," in text and "`torch`" not in text.split("everything else")[0]
    assert "`nvidia/cu13/lib/libbig.so.13` 6" in text
    assert bs.main([str(tmp_path / "missing")]) == 2
