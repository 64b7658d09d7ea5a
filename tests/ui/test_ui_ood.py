"""The out-of-distribution check through the real window: with the bundled demo model a HAM10000
photograph and a noise image are flagged on their tiles, in the prediction panel and in the folder's
summary, and the bundled synthetic images are not; a prediction stored before the check existed is made
again; a model without statistics says once, plainly, that it has no such check."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import cv2
import pytest
from PySide6.QtCore import Qt

from medgrad_desktop.core.ood import stats_path
from medgrad_desktop.core.prediction import NO_OOD_CHECK_TEXT, OOD_FLAG_TEXT
from medgrad_desktop.data.non_dermoscopy import draw
from medgrad_desktop.resources_path import demo_dir, resources_dir
from medgrad_desktop.store import ProjectStore
from medgrad_desktop.ui.widgets.thumbnail_tiles import UNLIKE_BADGE, tile_badges

WAIT = 120_000
DEMO_WEIGHTS = resources_dir() / "demo" / "model" / "demo-model.safetensors"


@pytest.fixture(scope="module")
def demo_model(demo_model):
    """The shared demo model, which must ship with its statistics: without them this file tests nothing."""
    assert stats_path(DEMO_WEIGHTS).exists(), f"{stats_path(DEMO_WEIGHTS)} missing"
    return demo_model


@pytest.fixture
def mixed_folder(tmp_path, ham_dir) -> Path:
    out = tmp_path / "mixed"
    out.mkdir()
    ham = sorted((ham_dir / "images").glob("*.jpg"))[0]
    (out / "a_ham.jpg").write_bytes(ham.read_bytes())
    cv2.imwrite(str(out / "b_noise.png"), draw("noise", 11, 0)[..., ::-1])
    for p in sorted(demo_dir().glob("demo_*.png"))[:2]:
        (out / f"c_{p.name}").write_bytes(p.read_bytes())
    return out


def _open_and_wait(qtbot, win, folder: Path) -> None:
    assert win.app.open_folder(folder)
    qtbot.waitUntil(lambda: win.app.entries and all(e.done for e in win.app.entries), timeout=WAIT)
    qtbot.waitUntil(
        lambda: win.app.predictions.handle is None or win.app.predictions.handle.is_finished, timeout=WAIT
    )


def _entry(win, prefix: str):
    return next(e for e in win.app.entries if e.name.startswith(prefix))


def test_flagged_images_say_so_on_tile_panel_and_summary(qtbot, make_window, demo_model, mixed_folder):
    win = make_window(lambda weights, device: demo_model)
    _open_and_wait(qtbot, win, mixed_folder)
    flagged = {e.name: e.prediction.ood_flagged for e in win.app.entries}
    assert flagged == {"a_ham.jpg": True, "b_noise.png": True, "c_demo_01.png": False, "c_demo_02.png": False}
    model = win.browser.thumb_model
    for row, e in enumerate(win.app.entries):
        tip = model.index(row).data(Qt.ItemDataRole.ToolTipRole)
        badges = tile_badges(e.prediction, None, model.low_confidence)
        assert (OOD_FLAG_TEXT in tip) == flagged[e.name]
        assert (UNLIKE_BADGE in badges) == flagged[e.name]
    qtbot.waitUntil(lambda: "2 of 4 analysed unlike" in win.browser.summary.text(), timeout=5_000)
    assert win.browser.summary.isVisible()

    win.app.select(win.app.entries.index(_entry(win, "a_ham")))
    qtbot.waitUntil(lambda: win.panel.ood_label.isVisible(), timeout=5_000)
    assert OOD_FLAG_TEXT in win.panel.ood_label.text().lower()
    assert "threshold" in win.panel.ood_label.toolTip()
    win.app.select(win.app.entries.index(_entry(win, "c_demo_01")))
    qtbot.waitUntil(lambda: not win.panel.ood_label.isVisible(), timeout=5_000)
    card = win.panel.card_label.text()
    assert "Out-of-distribution check" in card and demo_model.card.ood_stats_sha256[:12] in card


def test_a_prediction_stored_before_the_check_is_made_again(qtbot, make_window, demo_model, mixed_folder):
    first = make_window(lambda weights, device: demo_model)
    _open_and_wait(qtbot, first, mixed_folder)
    stored = {e.sha256: e.prediction for e in first.app.entries}
    first.close()
    store = ProjectStore.shared()
    for sha, pred in stored.items():  # as a store written before the check would hold them
        store.put_prediction(sha, dataclasses.replace(pred, ood=None))
    win = make_window(lambda weights, device: demo_model)
    _open_and_wait(qtbot, win, mixed_folder)
    assert all(e.prediction.ood is not None for e in win.app.entries)
    assert _entry(win, "a_ham").prediction.ood_flagged
    assert win.app.project.prefilled == 0  # none was shown from the store unchecked


def test_a_model_without_statistics_says_so_once(qtbot, make_window, tmp_path):
    folder = tmp_path / "plain"
    folder.mkdir()
    for p in sorted(demo_dir().glob("demo_*.png"))[:3]:
        (folder / p.name).write_bytes(p.read_bytes())
    win = make_window()  # the tiny random model: no statistics
    _open_and_wait(qtbot, win, folder)
    qtbot.waitUntil(lambda: NO_OOD_CHECK_TEXT in win.browser.summary.text(), timeout=5_000)
    assert win.browser.summary.text().count(NO_OOD_CHECK_TEXT) == 1
    assert win.panel.card_label.text().count(NO_OOD_CHECK_TEXT) == 1
    win.app.select(0)
    assert not win.panel.ood_label.isVisible()
    assert all(e.prediction.ood is None for e in win.app.entries)
    assert OOD_FLAG_TEXT not in (win.browser.thumb_model.index(0).data(Qt.ItemDataRole.ToolTipRole) or "")
