"""Load, the CI-sized version of benchmarks/load_1000.py: images through the app's predict and MedGrad
map jobs with the tiny model; no memory growth, no hooks left, time per image flat. The full 1000-image
run and its figures are in docs/BENCHMARKS.md ("## Load")."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[2]


def _bench():
    spec = importlib.util.spec_from_file_location("load_1000", ROOT / "benchmarks" / "load_1000.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_small_load_run_no_growth_no_hooks_flat_time(tiny_model, tmp_path: Path):
    pytest.importorskip("PySide6")  # the app's job functions live beside the worker
    bench = _bench()
    n = 40
    r = bench.run_load(n, folder=tmp_path / "imgs", block=10, clip=tiny_model)
    assert r["errors"] == 0 and r["images"] == n
    assert r["hooks_before"] == r["hooks_after"] == 0
    # 100 MB over 1000 images is 0.1 MB per image; allow allocator slack on a short run
    assert r["rss_growth_mb"] < 25, r["rss_curve_mb"]
    # medians of 10 images; generous because CI machines are shared; the benchmark uses 1.5
    assert r["cpu_last_over_first"] < 2.0, (r["cpu_ms_per_image_first"], r["cpu_ms_per_image_last"])
    assert r["text_cache_entries"] <= 2 * len(tiny_model.catalogue.class_targets()) * 10


def test_hooks_are_removed_when_a_forward_fails(tiny_model, monkeypatch):
    from medgrad_desktop.core.explain import analyze, default_params
    from medgrad_desktop.core.explain.hooks import live_hook_count

    before = live_hook_count(tiny_model.model)

    def boom(*a, **k):
        raise RuntimeError("injected failure inside the hooked forward")

    monkeypatch.setattr(tiny_model.model, "encode_image", boom)
    rgb = np.zeros((32, 32, 3), np.uint8)
    with pytest.raises(RuntimeError, match="injected"):
        analyze(tiny_model, rgb, tiny_model.catalogue.class_targets()[:1], [default_params("medgrad")])
    monkeypatch.undo()
    assert live_hook_count(tiny_model.model) == before == 0


def test_write_section_replaces_only_the_load_section(tmp_path: Path):
    bench = _bench()
    doc = tmp_path / "BENCHMARKS.md"
    doc.write_text("# Benchmarks\n\n## Speed\nfast\n\n## Load\nold figures\n\n## Quality\ngood\n")
    bench.write_section(doc, "## Load\n\nnew figures\n")
    text = doc.read_text()
    assert "## Speed\nfast\n" in text and "## Quality\ngood\n" in text
    assert "old figures" not in text and "new figures" in text
    bench.write_section(doc, "## Load\n\nnewer\n")
    assert doc.read_text().count("## Load") == 1 and "newer" in doc.read_text()
    other = tmp_path / "B2.md"
    other.write_text("# Benchmarks\n\n## Speed\nfast\n")
    bench.write_section(other, "## Load\n\nx\n")
    assert other.read_text() == "# Benchmarks\n\n## Speed\nfast\n\n## Load\n\nx\n"
