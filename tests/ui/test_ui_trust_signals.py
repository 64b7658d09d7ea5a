"""When not to trust a map, in the real window: an empty map is not drawn (the viewer says there is no
positive evidence, without a colour bar, in the comparison too); typed text names the words the model
never saw and is dimmed when the model does not match it to the image; a typed target lasts for one
image unless pinned; the checklist reads as finding and probability; the overlay's opacity follows
relevance, and the uniform blend stays one View menu toggle away."""

from __future__ import annotations

import html
from dataclasses import replace

import numpy as np
import pytest
from PySide6.QtCore import Qt

from medgrad_desktop.core.map_evidence import no_evidence_text
from medgrad_desktop.core.method_params import METHODS
from medgrad_desktop.core.text_match import FREE_TEXT_RULE, UNMATCHED_TEXT
from medgrad_desktop.ui.state.cache import map_key
from medgrad_desktop.ui.widgets.viewer_area import UNMATCHED_STRENGTH

WAIT = 60_000


@pytest.fixture
def demo_folder(demo_images):
    return demo_images(3)


def open_and_wait(qtbot, win, folder) -> None:
    assert win.app.open_folder(folder)
    qtbot.waitUntil(lambda: all(e.done for e in win.app.entries), timeout=WAIT)
    win.app.select(0)


def settled(win) -> bool:
    """The current method's map arrived: drawn, or said to be empty (its caption no longer computing)."""
    caption = win.viewers.map_caption.text()
    return "computing" not in caption and "waiting" not in caption and "loading" not in caption


def test_an_empty_map_is_said_not_drawn_in_one_view_and_in_the_comparison(qtbot, make_window, demo_folder):
    win = make_window()
    open_and_wait(qtbot, win, demo_folder)
    qtbot.waitUntil(lambda: win.viewers.viewer.map_values is not None, timeout=WAIT)
    assert win.viewers.colorbar.isVisible()
    app, entry = win.app, win.app.current_entry
    target = app.model.catalogue.class_target("melanoma")
    drawn = {}
    for m in METHODS:  # the maps the worker would deliver for Melanoma, all zero: a constructed empty map
        hm = app.cached_map(entry, app.current_method, app.current_target())
        zero = replace(
            hm,
            method=m,
            target=target,
            raw=np.zeros_like(hm.raw),
            normalized=np.zeros_like(hm.normalized),
            params=app.params[m].to_dict(),
        )
        assert zero.empty and zero.empty_reason == "raw relevance all zero"
        app.map_cache.put(
            map_key(entry.sha256, app.model.card.weights_sha256, app.params[m], target.key), zero
        )
        drawn[m] = zero
    combo = win.target_picker.combo
    combo.setCurrentIndex(combo.findData("class:melanoma"))
    viewer = win.viewers.viewer
    text = no_evidence_text("Melanoma")
    assert text == "no positive evidence for Melanoma in this image"
    assert viewer.map_values is None and not viewer.overlay_item.isVisible()
    assert viewer.message.isVisible() and viewer.message.text() == text
    assert not win.viewers.colorbar.isVisible()
    assert text in win.viewers.map_caption.text() and "all zero" in win.viewers.map_caption.text()
    qtbot.keyClick(win.browser.grid, Qt.Key.Key_C)  # the three methods side by side
    assert win.viewers.compare
    for m, v in win.viewers.compare_viewers.items():
        assert v.map_values is None and v.message.isVisible() and v.message.text() == text, m
        assert "no positive evidence" in win.viewers.compare_captions[m].text()
    assert not win.viewers.compare_colorbar.isVisible()
    # back to the predicted class: its maps are drawn again, with their colour bar
    combo.setCurrentIndex(combo.findData("predicted"))
    qtbot.waitUntil(
        lambda: all(v.map_values is not None for v in win.viewers.compare_viewers.values()), timeout=WAIT
    )
    assert win.viewers.compare_colorbar.isVisible()
    assert not any(v.message.isVisible() for v in win.viewers.compare_viewers.values())


def test_banana_is_named_dimmed_and_dropped_on_the_next_image_unless_pinned(
    qtbot, make_window, demo_model, demo_folder
):
    win = make_window(lambda weights, device: demo_model)
    app, picker = win.app, win.target_picker
    app.set_method("gradcam")
    open_and_wait(qtbot, win, demo_folder)
    qtbot.waitUntil(lambda: win.viewers.viewer.map_values is not None, timeout=WAIT)
    picker.free_text.setFocus()
    qtbot.keyClicks(picker.free_text, "banana")
    picker.completer.popup().hide()
    qtbot.keyClick(picker.free_text, Qt.Key.Key_Return)
    assert app.target_choice.spec == "text:banana" and app.unknown_words == ["banana"]
    assert (
        picker.unknown_label.isVisible()
        and "the model was never trained on: banana" in picker.unknown_label.text()
    )
    qtbot.waitUntil(lambda: settled(win) and "banana" in win.viewers.map_caption.text(), timeout=WAIT)
    hm = app.cached_map(app.current_entry, "gradcam", app.current_target())
    viewer = win.viewers.viewer
    # on the demo model, "banana" scores below the threshold on this image: drawn dimmed, and said
    assert hm is not None and not hm.empty and not FREE_TEXT_RULE.matches(hm.score)
    assert viewer.map_values is not None
    assert viewer.overlay_item.opacity() == pytest.approx(app.opacity * UNMATCHED_STRENGTH)
    assert UNMATCHED_TEXT in viewer.message.text() and viewer.message.isVisible()
    assert UNMATCHED_TEXT in win.viewers.map_caption.text()
    # the next image: the predicted class again, the box empty, no warning left over
    qtbot.keyClick(win.browser.grid, Qt.Key.Key_Right)
    assert app.current_row == 1
    assert app.target_choice.kind == "predicted" and picker.free_text.text() == ""
    assert not picker.unknown_label.isVisible()
    qtbot.waitUntil(lambda: settled(win) and viewer.map_values is not None, timeout=WAIT)
    assert viewer.overlay_item.opacity() == pytest.approx(app.opacity) and not viewer.message.isVisible()
    # pinned, the typed target stays from image to image
    picker.free_text.setText("banana")
    qtbot.keyClick(picker.free_text, Qt.Key.Key_Return)
    qtbot.mouseClick(picker.pin_button, Qt.MouseButton.LeftButton)
    assert app.pin_typed
    win.browser.grid.setFocus()
    qtbot.keyClick(win.browser.grid, Qt.Key.Key_Right)
    assert app.current_row == 2 and app.target_choice.spec == "text:banana"
    assert picker.free_text.text() == "banana" and picker.unknown_label.isVisible()
    # clearing the box gives the predicted class back
    picker.free_text.setFocus()
    picker.free_text.selectAll()
    qtbot.keyClick(picker.free_text, Qt.Key.Key_Backspace)
    assert app.target_choice.kind == "predicted" and not picker.unknown_label.isVisible()


def test_checklist_reads_as_finding_and_its_probability(qtbot, make_window, demo_model, demo_folder):
    win = make_window(lambda weights, device: demo_model)
    open_and_wait(qtbot, win, demo_folder)
    pred = win.app.current_entry.prediction
    shown = win.panel.criteria_label.text()
    for c in pred.criteria:
        assert html.escape(c.text).replace(", ", ",&nbsp;") in shown  # finding and probability never split
        assert c.text.startswith(f"{c.display_name}: {c.option_id.replace('_', ' ')}, ")
        if c.option_id == "absent":  # "absent blue-whitish veil" under a bare probability read backwards
            assert c.phrase not in shown
    veil = next(c for c in pred.criteria if c.criterion_id == "blue_whitish_veil")
    assert f"Blue-whitish veil: {veil.option_id},&nbsp;" in shown


def test_overlay_opacity_follows_relevance_and_uniform_is_one_toggle_away(qtbot, make_window, demo_folder):
    win = make_window()
    open_and_wait(qtbot, win, demo_folder)
    viewer = win.viewers.viewer
    qtbot.waitUntil(lambda: viewer.map_values is not None, timeout=WAIT)

    def alphas() -> np.ndarray:
        img = viewer.overlay_item.pixmap().toImage()
        v = viewer.map_values
        lo = np.unravel_index(int(np.argmin(v)), v.shape)
        hi = np.unravel_index(int(np.argmax(v)), v.shape)
        return np.array([img.pixelColor(int(p[1]), int(p[0])).alpha() for p in (lo, hi)])

    assert win.menus.alpha_action.isChecked() and viewer.alpha == "ramp"
    assert list(alphas()) == [0, 255]  # transparent where the map is lowest, full where it is highest
    win.menus.alpha_action.setChecked(False)
    assert viewer.alpha == "uniform" and win.app.settings.overlay_alpha == "uniform"
    assert list(alphas()) == [255, 255]
    win.menus.alpha_action.setChecked(True)
    assert viewer.alpha == "ramp" and list(alphas()) == [0, 255]
