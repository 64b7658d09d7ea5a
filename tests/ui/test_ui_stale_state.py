"""No stale state and a stable layout, through the real window: every panel shows the current image or
says there is none; a cancelled batch leaves tiles that say how to go on; failed weights at startup fall
back to the demo model with a banner and are not kept; only targets the model has are offered; the
low-confidence threshold is shown and settable; the details panel keeps its widgets in place; the viewer
gets the room; and the small things (title, zoom and opacity figures, slider, colour bar, contour)."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtWidgets import QApplication, QStyle, QStyleOptionSlider

from medgrad_desktop.core.imageio import list_images
from medgrad_desktop.core.model import ModelLoadError, load_model
from medgrad_desktop.resources_path import demo_dir
from medgrad_desktop.testing.sample_images import write_sample_folder
from medgrad_desktop.ui.main_window import MainWindow
from medgrad_desktop.ui.state.folder_image import NOT_ANALYSED
from medgrad_desktop.ui.widgets.image_viewer import contour_rgba
from medgrad_desktop.ui.work import compute as ui_compute

WAIT = 60_000


@pytest.fixture
def folder(tmp_path) -> Path:
    """Six demo images (or drawn ones), one with a very long name, and one unreadable file."""
    out = tmp_path / "images"
    demo = list_images(demo_dir())[:6]
    if demo:
        out.mkdir()
        for p in demo:
            (out / p.name).write_bytes(p.read_bytes())
    else:
        write_sample_folder(out, 6)
    first = sorted(out.iterdir())[0]
    first.rename(out / ("a_" + "very_long_file_name_" * 8 + first.suffix))
    (out / "zz_broken.jpg").write_bytes(b"not an image at all")
    return out


def open_and_wait(qtbot, win: MainWindow, folder: Path) -> None:
    assert win.app.open_folder(folder)
    qtbot.waitUntil(lambda: win.app.entries and all(e.done for e in win.app.entries), timeout=WAIT)
    qtbot.waitUntil(lambda: not win.app.predictions.running, timeout=WAIT)


def review_buttons_at(win: MainWindow) -> list[QPoint]:
    p = win.panel
    return [
        w.mapTo(win, QPoint(0, 0))
        for w in (p.accept_button, p.override_button, p.override_combo, p.note_edit, p.reset_button)
    ]


def test_an_empty_folder_clears_every_panel(qtbot, make_window, folder, tmp_path):
    win = make_window()
    open_and_wait(qtbot, win, folder)
    win.app.select(1)
    qtbot.waitUntil(lambda: win.viewers.viewer.map_values is not None, timeout=WAIT)
    empty = tmp_path / "empty"
    empty.mkdir()
    win.app.open_folder(empty)
    assert win.panel.title.text() == "No images in this folder"
    assert "Select an image" in win.panel.topk_label.text() and win.panel.criteria_label.text() == ""
    assert not win.panel.accept_button.isEnabled() and not win.panel.override_button.isEnabled()
    assert not win.panel.note_edit.isEnabled() and win.panel.review_state.text() == "—"
    assert win.viewers.viewer.image_size is None and win.viewers.viewer.map_values is None
    assert win.viewers.map_caption.text() == "No images in this folder"
    assert not win.viewers.colorbar.isVisible()
    assert win.browser.empty_hint.isVisible() and "No images in" in win.browser.empty_hint.text()
    assert win.windowTitle() == "empty — MedGrad Desktop"


def test_cancelled_tiles_and_panel_say_not_analysed(qtbot, make_window, tmp_path, monkeypatch):
    write_sample_folder(tmp_path / "many", 20, size=(96, 96))
    real = ui_compute.classify

    def slow_classify(*a, **k):
        time.sleep(0.05)
        return real(*a, **k)

    monkeypatch.setattr(ui_compute, "classify", slow_classify)
    win = make_window()
    win.app.open_folder(tmp_path / "many")
    assert win.browser.thumb_model.pending_text == "analysing…"
    qtbot.waitUntil(lambda: win.app.predictions.handle.done >= 2, timeout=WAIT)
    win.status_bar.cancel_button.click()
    qtbot.waitUntil(lambda: not win.app.predictions.running, timeout=WAIT)
    assert win.app.batch_cancelled and win.browser.thumb_model.pending_text == NOT_ANALYSED
    row = next(i for i, e in enumerate(win.app.entries) if not e.done)
    win.app.select(row)
    assert NOT_ANALYSED in win.panel.topk_label.text() and not win.panel.accept_button.isEnabled()
    assert NOT_ANALYSED in win.viewers.map_caption.text()
    # Ctrl+R goes on, and the tiles say they are being analysed again
    win.browser.grid.setFocus()
    qtbot.keyClick(win.browser.grid, Qt.Key.Key_R, Qt.KeyboardModifier.ControlModifier)
    assert win.browser.thumb_model.pending_text == "analysing…" and not win.app.batch_cancelled
    qtbot.waitUntil(lambda: all(e.done for e in win.app.entries), timeout=WAIT)


def test_bad_weights_at_startup_fall_back_to_the_demo_model_and_are_not_kept(
    qtbot, make_window, app_settings, tiny_model, tmp_path
):
    bad = tmp_path / "notes.pt"
    bad.write_text("# these are my notes, not a model\nsome text\n")
    app_settings.weights = str(bad)

    def factory(weights, device):
        return load_model(weights, device=device) if weights else tiny_model

    win = make_window(factory)
    assert win.app.model is tiny_model
    assert app_settings.weights == ""  # the next launch starts with the demo model
    assert win.banner.isVisible() and "notes.pt" in win.banner.text() and "demo model" in win.banner.text()
    assert "could run code" not in win.banner.text() and "not a PyTorch checkpoint" in win.banner.text()


def test_weights_messages_say_what_happened_and_what_to_do(tmp_path, tiny_model):
    txt = tmp_path / "readme.pt"
    txt.write_text("hello world")
    with pytest.raises(ModelLoadError) as err:
        load_model(txt, device="cpu")
    assert "could run code" not in str(err.value) and "not a PyTorch checkpoint" in str(err.value)
    from medgrad_desktop.core.checkpoint import save_checkpoint

    w = save_checkpoint(tiny_model.model, tmp_path / "tiny.safetensors", {"name": "t"})
    w.with_suffix(".card.json").unlink(missing_ok=True)
    with pytest.raises(ModelLoadError) as err:
        load_model(w, device="cpu", architecture="ViT-B-16")
    assert "Pick the matching architecture" not in str(err.value) and ".card.json" in str(err.value)


def test_only_targets_the_model_has_are_offered(qtbot, make_window, folder, tiny_model, demo_like_weights):
    def factory(w, d):
        return load_model(w, device=d) if w else tiny_model

    win = make_window(factory)
    n = len(tiny_model.catalogue.classes)
    combo = win.target_picker.combo
    assert combo.findData("rank:5") >= 0 and win.panel.topk_box.title() == f"Differential (top {min(5, n)})"
    combo.setCurrentIndex(combo.findData("rank:5"))
    win.settings.weights = str(demo_like_weights)  # three classes
    h = win.app.reload_model()
    qtbot.waitUntil(lambda: h.is_finished and win.app.model.card.name == "demo-like", timeout=WAIT)
    assert combo.findData("rank:3") >= 0 and combo.findData("rank:4") < 0 and combo.findData("rank:5") < 0
    assert win.app.target_choice.kind == "predicted"  # the chosen Top-5 does not exist any more
    assert win.panel.topk_box.title() == "Differential (top 3)"
    assert not any(
        combo.itemData(i, Qt.ItemDataRole.UserRole) and str(combo.itemData(i)).startswith("criterion:")
        for i in range(combo.count())
    )


def test_free_text_box_clears_when_the_target_changes(qtbot, make_window, folder):
    win = make_window()
    open_and_wait(qtbot, win, folder)
    picker = win.target_picker
    picker.free_text.setText("asymmetric dark blotch")
    qtbot.keyClick(picker.free_text, Qt.Key.Key_Return)
    assert win.app.target_choice.kind == "text" and picker.free_text.text() == "asymmetric dark blotch"
    picker.combo.setCurrentIndex(picker.combo.findData("predicted"))
    assert win.app.target_choice.kind == "predicted" and picker.free_text.text() == ""


def test_low_confidence_threshold_is_shown_and_settable(qtbot, make_window, folder, app_settings):
    win = make_window()
    open_and_wait(qtbot, win, folder)
    b = win.browser
    assert b.low_threshold.value() == 50 and b.low_threshold.suffix() == " %"
    confs = [e.prediction.confidence for e in win.app.entries if e.prediction]
    b.low_threshold.setValue(1)
    assert app_settings.low_confidence == pytest.approx(0.01)
    b.low_only.setChecked(True)
    assert b.proxy.rowCount() == sum(c < 0.01 for c in confs)
    if b.proxy.rowCount() == 0:
        assert b.empty_hint.isVisible() and "below 1 %" in b.empty_hint.text()
    b.low_threshold.setValue(99)
    assert b.proxy.rowCount() == sum(c < 0.99 for c in confs)
    assert b.thumb_model.low_confidence == pytest.approx(0.99)


def test_details_panel_widgets_never_move_and_never_overflow(qtbot, make_window, folder):
    win = make_window()
    win.resize(1280, 800)
    open_and_wait(qtbot, win, folder)
    places, widths = set(), set()
    for row in range(len(win.app.entries)):  # a long name, ordinary ones and the unreadable file
        win.app.select(row)
        qtbot.wait(20)
        places.add(tuple((p.x(), p.y()) for p in review_buttons_at(win)))
        widths.add(win.panel.width())
        bar = win.panel.scroll.horizontalScrollBar()
        assert bar.maximum() == 0 and win.panel.scroll.widget().width() <= win.panel.scroll.viewport().width()
    assert len(places) == 1 and len(widths) == 1
    long_row = next(i for i, e in enumerate(win.app.entries) if e.name.startswith("a_very_long"))
    win.app.select(long_row)
    assert win.panel.file_label.toolTip().endswith(win.app.entries[long_row].name)
    assert (
        win.panel.file_label.elided_text() != win.panel.file_label.text()
    )  # cut to fit, whole in the tooltip


def test_viewer_gets_the_room_and_side_panels_collapse_and_are_remembered(qtbot, make_window, app_settings):
    win = make_window()
    win.resize(1280, 800)
    qtbot.waitUntil(lambda: win.width() == 1280, timeout=5000)
    qtbot.wait(50)
    assert win.viewers.width() >= 0.55 * win.width(), (win.viewers.width(), win.splitter.sizes())
    before = win.viewers.width()
    win.activateWindow()
    win.browser.grid.setFocus()
    qtbot.keyClick(win.browser.grid, Qt.Key.Key_B, Qt.KeyboardModifier.ControlModifier)
    assert not win.browser.isVisible() and not app_settings.panel_visible("browser")
    qtbot.wait(50)
    assert win.viewers.width() > before
    win.menus.panel_actions["details"].setChecked(False)
    assert not win.panel.isVisible() and not app_settings.panel_visible("details")
    win.close()
    again = make_window()
    assert not again.browser.isVisible() and not again.panel.isVisible()
    assert not again.menus.panel_actions["browser"].isChecked()
    again.menus.panel_actions["browser"].setChecked(True)
    assert again.browser.isVisible() and app_settings.panel_visible("browser")


def test_compare_view_fits_each_image_and_elides_titles(qtbot, make_window, folder):
    win = make_window()
    win.resize(1024, 640)
    open_and_wait(qtbot, win, folder)
    win.app.select(1)
    win.menus.compare_action.setChecked(True)
    qtbot.waitUntil(
        lambda: all(v.map_values is not None for v in win.viewers.compare_viewers.values()), timeout=WAIT
    )
    qtbot.wait(50)
    for m, v in win.viewers.compare_viewers.items():
        iw, ih = v.image_size
        vp = v.viewport().size()
        assert v.zoom == pytest.approx(min(vp.width() / iw, vp.height() / ih), rel=0.05)
        cap = win.viewers.compare_captions[m]
        assert "explaining:" in cap.toolTip() and "S = " in cap.toolTip()  # the whole caption
        drawn = cap.elided_text()
        assert drawn == cap.text() or drawn.endswith("…")
        assert cap.fontMetrics().horizontalAdvance(drawn) <= cap.contentsRect().width()


def test_small_things(qtbot, make_window, folder):
    win = make_window()
    open_and_wait(qtbot, win, folder)
    win.app.select(1)
    qtbot.waitUntil(lambda: win.viewers.viewer.map_values is not None, timeout=WAIT)
    assert win.windowTitle() == "images — MedGrad Desktop"  # Qt adds the app name only when it is missing
    m = win.menus
    assert m.opacity_label.text().strip() == f"{round(win.app.opacity * 100)} %"
    assert m.zoom_label.text().strip() == f"Zoom {win.viewers.zoom_percent()} %"
    win.viewers.zoom_in()
    assert m.zoom_label.text().strip() == f"Zoom {win.viewers.zoom_percent()} %"
    # a click on the slider jumps to the position clicked
    s = m.opacity_slider
    s.setValue(50)
    click = QPoint(round(s.width() * 0.85), s.height() // 2)
    qtbot.mouseClick(s, Qt.MouseButton.LeftButton, pos=click)
    opt = QStyleOptionSlider()
    s.initStyleOption(opt)
    handle = s.style().subControlRect(
        QStyle.ComplexControl.CC_Slider, opt, QStyle.SubControl.SC_SliderHandle, s
    )
    assert handle.contains(click) and s.value() > 75  # under the pointer, not one page step from 50
    assert m.opacity_label.text().strip() == f"{s.value()} %"
    # the colour bar only beside a visible overlay
    assert win.viewers.colorbar.isVisible()
    m.overlay_action.setChecked(False)
    assert not win.viewers.colorbar.isVisible()
    m.overlay_action.setChecked(True)
    assert win.viewers.colorbar.isVisible()
    # the Cancel button keeps its place whatever the status text says
    sb = win.status_bar
    sb.batch_started(10)
    QApplication.processEvents()
    x0 = sb.cancel_button.mapTo(win, QPoint(0, 0))
    win.statusBar().showMessage("a very long status message " * 6)
    sb.batch_progress(5, 10, 123.0)
    QApplication.processEvents()
    assert sb.cancel_button.mapTo(win, QPoint(0, 0)) == x0
    assert sb.batch_box.geometry().right() <= sb.width()
    sb.batch_finished()


def test_contour_is_white_in_a_dark_halo():
    edges = np.zeros((9, 9), bool)
    edges[4, 2:7] = True
    rgba = contour_rgba(edges)
    assert (rgba[edges][:, :3] == 255).all() and (rgba[edges][:, 3] == 255).all()
    halo = rgba[3, 2:7]
    assert (halo[:, :3] < 60).all() and (halo[:, 3] > 200).all()
    assert rgba[0, 0, 3] == 0
