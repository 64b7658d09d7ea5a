"""Explaining several images in one pass gives each image the maps, scores and prediction it gets alone,
and reports built a pass of several images at a time equal reports built image by image."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from medgrad_desktop.core import batching
from medgrad_desktop.core.batching import images_per_pass
from medgrad_desktop.core.explain import METHODS, analyze, analyze_batch, default_params
from medgrad_desktop.reports import ReportOptions
from medgrad_desktop.reports.builder import report_chunks
from medgrad_desktop.reports.export import export_report
from medgrad_desktop.reports.request import ReportRequest
from tests.conftest import random_rgb

TOL = 1e-5


def test_batch_of_images_equals_one_at_a_time(tiny_model):
    # different sizes and aspect ratios: each image is squashed on its own before the pass
    images = [random_rgb(60, 80, 1), random_rgb(100, 100, 2), random_rgb(90, 40, 3), random_rgb(64, 64, 4)]
    targets = tiny_model.catalogue.class_targets()
    params = [default_params(m) for m in METHODS]
    batched = analyze_batch(tiny_model, images, targets, params)
    assert len(batched) == len(images)
    for img, res in zip(images, batched, strict=True):
        alone = analyze(tiny_model, img, targets, params)
        np.testing.assert_allclose(res.prediction.probabilities, alone.prediction.probabilities, atol=TOL)
        assert res.prediction.predicted_id == alone.prediction.predicted_id
        assert res.maps.keys() == alone.maps.keys() and len(res.maps) == len(METHODS) * len(targets)
        for key, h in res.maps.items():
            a = alone.maps[key]
            assert h.image_size == a.image_size == (img.shape[1], img.shape[0])
            assert abs(h.score - a.score) < TOL, key
            np.testing.assert_allclose(h.raw, a.raw, atol=TOL, rtol=0, err_msg=str(key))
            np.testing.assert_allclose(h.normalized, a.normalized, atol=TOL, rtol=0, err_msg=str(key))
    # the images' maps differ from each other: the comparison is not of one repeated map
    assert not np.allclose(
        batched[0].maps[("medgrad", targets[0].key)].raw, batched[1].maps[("medgrad", targets[0].key)].raw
    )


def test_report_chunks_cover_every_index_once_in_order():
    assert report_chunks(7, 3) == [[1, 2, 3], [4, 5, 6], [7]]
    assert report_chunks(2, 0) == [[1], [2]]
    assert report_chunks(0, 4) == []


def test_classify_and_explain_passes_follow_free_memory(tiny_model, vit_b16, monkeypatch):
    n_prompts = len(vit_b16.catalogue.class_targets())
    per_image = batching.bytes_per_image(vit_b16, n_prompts)
    assert per_image > batching.bytes_per_image(vit_b16, 0) > batching.bytes_per_image(tiny_model, 0)
    fwd = batching.bytes_per_image(vit_b16, 0)
    monkeypatch.setattr(batching, "free_bytes", lambda _d: 10 * fwd)
    assert images_per_pass("classify", vit_b16) == 2  # a quarter of 10 images' worth
    assert images_per_pass("classify", vit_b16, requested=7) == 7  # a given size wins
    monkeypatch.setattr(batching, "free_bytes", lambda _d: 0)
    assert images_per_pass("classify", vit_b16) == 1
    monkeypatch.setattr(batching, "free_bytes", lambda _d: 2**50)
    assert images_per_pass("classify", vit_b16) == batching.MAX_BATCH["cpu"] == 16
    # explanations on a CPU: one image per pass whatever the memory
    assert images_per_pass("explain", vit_b16) == batching.CPU_EXPLAIN_BATCH == 1
    # on a GPU the explanation pass follows the free memory, with every class prompt's gradient counted
    gpu = type(
        "GpuModel",
        (),
        {"device": torch.device("cuda"), "visual": vit_b16.visual, "catalogue": vit_b16.catalogue},
    )()
    monkeypatch.setattr(batching, "free_bytes", lambda _d: 40 * per_image)
    assert images_per_pass("explain", gpu) == 10
    monkeypatch.setattr(batching, "free_bytes", lambda _d: 2**50)
    assert images_per_pass("explain", gpu) == batching.MAX_BATCH["cuda"] == 64


def test_fixed_passes_of_the_app_and_the_evaluations(tiny_model, monkeypatch):
    gpu = type("GpuModel", (), {"device": torch.device("cuda")})()
    assert images_per_pass("app-predictions", tiny_model) == 4
    assert images_per_pass("app-predictions", gpu) == 32
    monkeypatch.setattr(batching, "free_bytes", lambda _d: 0)  # fixed: the free memory plays no part
    assert images_per_pass("evaluate-maps") == 8
    assert images_per_pass("evaluate-features") == 32
    with pytest.raises(ValueError, match="pass the model"):
        images_per_pass("explain")


def _folder(tmp_path: Path) -> list[Path]:
    folder = tmp_path / "imgs"
    folder.mkdir()
    paths = []
    for i, (h, w) in enumerate([(50, 70), (64, 64), (80, 40), (60, 60), (70, 50)]):
        p = folder / f"img_{i}.png"
        Image.fromarray(random_rgb(h, w, 10 + i)).save(p)
        paths.append(p)
    bad = folder / "img_2b.png"  # unreadable, in the middle of a pass
    bad.write_bytes(b"not an image")
    return sorted(paths + [bad])


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _rows(path: Path) -> list[dict]:
    with open(path, encoding="utf-8", newline="") as f:
        return [{k: v for k, v in r.items() if k != "created"} for r in csv.DictReader(f)]


@pytest.mark.parametrize("batch", [3, 16])
def test_report_in_passes_equals_report_image_by_image(tiny_model, tmp_path, batch):
    paths = _folder(tmp_path)
    params = [default_params(m) for m in METHODS]
    one = export_report(
        ReportRequest(paths, params, tmp_path / "one", formats=("csv",), options=ReportOptions(batch_size=1)),
        tiny_model,
    )
    many = export_report(
        ReportRequest(
            paths, params, tmp_path / "many", formats=("csv",), options=ReportOptions(batch_size=batch)
        ),
        tiny_model,
    )
    a, b = _rows(one.outputs[0]), _rows(many.outputs[0])
    assert len(a) == len(paths) and sum(bool(r["error"]) for r in a) == 1
    # CSV cells round to 6 decimals; a pass of several images may move the 7th, so compare as numbers
    for ra, rb in zip(a, b, strict=True):
        assert ra.keys() == rb.keys()
        for k in ra:
            if ra[k] == rb[k]:
                continue
            if k == "top_k":
                ta, tb = [t.split(":") for t in ra[k].split(";")], [t.split(":") for t in rb[k].split(";")]
                assert [n for n, _ in ta] == [n for n, _ in tb]
                assert [float(v) for _, v in ta] == pytest.approx([float(v) for _, v in tb], abs=2e-6)
            elif _is_number(ra[k]):
                assert float(ra[k]) == pytest.approx(float(rb[k]), abs=2e-6), (ra["index"], k)
            else:
                assert ra[k] == rb[k], (ra["index"], k)
    for ea, eb in zip(one.content.entries, many.content.entries, strict=True):
        assert [o.score for o in ea.overlays] == pytest.approx([o.score for o in eb.overlays], abs=TOL)
        assert [o.raw_max for o in ea.overlays] == pytest.approx([o.raw_max for o in eb.overlays], abs=TOL)
