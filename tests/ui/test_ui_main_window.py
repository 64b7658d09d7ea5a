"""The main window driven as a user would: open a folder, wait for predictions, look at overlays,
switch methods and targets, navigate with the keyboard, review with undo, reopen, cancel."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox

from medgrad_desktop.audit import read_events
from medgrad_desktop.core.explain import default_params
from medgrad_desktop.core.imageio import list_images
from medgrad_desktop.core.model import ModelLoadError, load_model
from medgrad_desktop.resources_path import demo_dir
from medgrad_desktop.testing.sample_images import write_sample_folder
from medgrad_desktop.ui import map_controller
from medgrad_desktop.ui.main_window import MainWindow
from medgrad_desktop.ui.state.settings import AppSettings
from medgrad_desktop.ui.widgets.thumbnail_tiles import ErrorRole, ReviewRole
from medgrad_desktop.ui.work import compute as ui_compute

WAIT = 60_000


@pytest.fixture
def folder(tmp_path) -> Path:
    """The demo folder when it has images, else drawn lesion images; plus one broken file in a copy."""
    out = tmp_path / "images"
    demo = list_images(demo_dir())
    if demo:
        out.mkdir()
        for p in demo[:8]:
            (out / p.name).write_bytes(p.read_bytes())
    else:
        write_sample_folder(out, 6)
    (out / "zz_broken.jpg").write_bytes(b"not an image at all")
    return out


def open_and_wait(qtbot, win: MainWindow, folder: Path) -> None:
    assert win.app.open_folder(folder)
    qtbot.waitUntil(lambda: win.app.entries and all(e.done for e in win.app.entries), timeout=WAIT)
    qtbot.waitUntil(
        lambda: win.app.predictions.handle is None or win.app.predictions.handle.is_finished, timeout=WAIT
    )


def wait_map(qtbot, win: MainWindow) -> None:
    qtbot.waitUntil(lambda: win.viewers.viewer.map_values is not None, timeout=WAIT)


def click_tile(qtbot, win: MainWindow, proxy_row: int) -> None:
    idx = win.browser.proxy.index(proxy_row, 0)
    rect = win.browser.grid.visualRect(idx)
    qtbot.mouseClick(win.browser.grid.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())


def test_open_folder_predicts_every_image_and_marks_the_broken_one(qtbot, make_window, folder):
    win = make_window()
    open_and_wait(qtbot, win, folder)
    good = [e for e in win.app.entries if e.prediction is not None]
    bad = [e for e in win.app.entries if e.error]
    assert len(good) == len(win.app.entries) - 1 and len(bad) == 1
    assert bad[0].name == "zz_broken.jpg" and "zz_broken.jpg" in bad[0].error
    row = win.app.entries.index(bad[0])
    assert "zz_broken.jpg" in win.browser.thumb_model.index(row).data(ErrorRole)
    for e in good:
        assert len(e.sha256) == 64 and e.thumbnail is not None
        assert abs(sum(e.prediction.probabilities) - 1.0) < 1e-4
    events = [ev["event"] for ev in read_events()]
    assert "folder_opened" in events and "predictions_run" in events
    assert sum(ev == "prediction" for ev in events) == len(good)
    assert not win.status_bar.progress.isVisible()


def test_notice_and_untrained_warning_always_visible(qtbot, make_window, folder):
    win = make_window()
    assert win.notice.isVisible() and "not for diagnosis" in win.notice.text().lower()
    assert (
        win.status_bar.notice_status.isVisible()
        and "not for diagnosis" in win.status_bar.notice_status.text().lower()
    )
    assert "UNTRAINED" in win.status_bar.warning_status.text()
    open_and_wait(qtbot, win, folder)
    assert win.panel.warning_label.isVisible() and "UNTRAINED" in win.panel.warning_label.text()
    assert win.app.model.card.short_hash in win.panel.card_label.text()


def test_select_image_toggle_overlay_and_opacity(qtbot, make_window, folder):
    win = make_window()
    open_and_wait(qtbot, win, folder)
    click_tile(qtbot, win, 1)
    assert (
        win.app.current_entry
        is win.app.entries[win.browser.proxy.mapToSource(win.browser.proxy.index(1, 0)).row()]
    )
    wait_map(qtbot, win)
    overlay = win.viewers.viewer.overlay_item
    assert overlay.isVisible() and not overlay.pixmap().isNull()
    assert win.viewers.viewer.map_values.shape[1] / win.viewers.viewer.map_values.shape[0] == pytest.approx(
        win.app.current_entry.size[0] / win.app.current_entry.size[1], rel=0.02
    )
    qtbot.keyClick(win.browser.grid, Qt.Key.Key_O)
    assert not overlay.isVisible() and not win.menus.overlay_action.isChecked()
    qtbot.keyClick(win.browser.grid, Qt.Key.Key_O)
    assert overlay.isVisible()
    win.menus.opacity_slider.setValue(20)
    assert overlay.opacity() == pytest.approx(0.20)
    qtbot.keyClick(win.browser.grid, Qt.Key.Key_BracketRight)
    assert overlay.opacity() == pytest.approx(0.30)
    qtbot.keyClick(win.browser.grid, Qt.Key.Key_BracketLeft)
    qtbot.keyClick(win.browser.grid, Qt.Key.Key_BracketLeft)
    assert overlay.opacity() == pytest.approx(0.10)
    # a colormap change recolours the kept map without a new job (where the map is high: where it is
    # low the overlay is transparent)
    y, x = np.unravel_index(
        int(np.argmax(win.viewers.viewer.map_values)), win.viewers.viewer.map_values.shape
    )
    before = overlay.pixmap().toImage().pixelColor(int(x), int(y))
    win.app.set_colormap("viridis")
    after = overlay.pixmap().toImage().pixelColor(int(x), int(y))
    assert before != after and win.viewers.colorbar.colormap == "viridis"
    win.menus.contour_check.setChecked(True)
    assert win.viewers.viewer.contour_item.isVisible()


def test_switch_method_and_target_including_free_text(qtbot, make_window, folder):
    win = make_window()
    open_and_wait(qtbot, win, folder)
    win.app.select(0)
    wait_map(qtbot, win)
    entry = win.app.current_entry
    seen = {}
    for key, method in ((Qt.Key.Key_1, "gradcam"), (Qt.Key.Key_2, "grad-eclip"), (Qt.Key.Key_3, "medgrad")):
        qtbot.keyClick(win.browser.grid, key)
        assert win.app.current_method == method
        qtbot.waitUntil(
            lambda m=method: (
                win.app.cached_map(entry, m, win.app.current_target()) is not None
                and win.viewers.viewer.map_values is not None
            ),
            timeout=WAIT,
        )
        seen[method] = win.viewers.viewer.map_values.copy()
        assert method.replace("-", "").lower()[:4] in win.viewers.map_caption.text().replace("-", "").lower()
    assert not np.allclose(seen["gradcam"], seen["medgrad"])
    # back to a method already computed: shown at once from the cache, no job needed
    qtbot.keyClick(win.browser.grid, Qt.Key.Key_1)
    assert win.viewers.viewer.map_values is not None and np.allclose(
        win.viewers.viewer.map_values, seen["gradcam"]
    )
    # a catalogue class as target
    i = win.target_picker.combo.findData("class:melanoma")
    assert i >= 0
    win.target_picker.combo.setCurrentIndex(i)
    qtbot.waitUntil(
        lambda: (
            win.app.cached_map(entry, "gradcam", win.app.model.catalogue.class_target("melanoma")) is not None
        ),
        timeout=WAIT,
    )
    assert "Melanoma" in win.viewers.map_caption.text()
    # free text typed by the user
    win.target_picker.free_text.setFocus()
    qtbot.keyClicks(win.target_picker.free_text, "blue-grey ovoid nests")
    qtbot.keyClick(win.target_picker.free_text, Qt.Key.Key_Return)
    assert win.app.target_choice.kind == "text" and win.app.target_choice.value == "blue-grey ovoid nests"
    qtbot.waitUntil(
        lambda: (
            "blue-grey ovoid nests" in win.viewers.map_caption.text()
            and "computing" not in win.viewers.map_caption.text()
        ),
        timeout=WAIT,
    )
    assert win.app.current_target().key == "blue-grey ovoid nests"
    # typing 1-3 or O into the text box edits the text, it does not switch method
    qtbot.keyClicks(win.target_picker.free_text, " 2o")
    assert win.app.current_method == "gradcam" and win.menus.overlay_action.isChecked()


def test_arrow_keys_move_between_images(qtbot, make_window, folder):
    win = make_window()
    open_and_wait(qtbot, win, folder)
    win.app.select(0)
    first = win.app.current_entry
    qtbot.keyClick(win.browser.grid, Qt.Key.Key_Right)
    assert win.app.current_entry is win.app.entries[1]
    qtbot.keyClick(win.browser.grid, Qt.Key.Key_Right)
    assert win.app.current_entry is win.app.entries[2]
    qtbot.keyClick(win.browser.grid, Qt.Key.Key_Left)
    qtbot.keyClick(win.browser.grid, Qt.Key.Key_Left)
    assert win.app.current_entry is first
    qtbot.keyClick(win.browser.grid, Qt.Key.Key_Left)  # stays on the first image
    assert win.app.current_entry is first
    assert first.name in win.panel.file_label.text()


def test_override_then_undo_and_redo(qtbot, make_window, folder):
    win = make_window()
    win.app.settings.advance_after_review = False  # stay on the image (moving on: test_ui_review_keys)
    open_and_wait(qtbot, win, folder)
    win.app.select(0)
    e = win.app.current_entry
    other = next(c.id for c in win.app.model.catalogue.classes if c.id != e.prediction.predicted_id)
    win.panel.override_combo.setCurrentIndex(win.panel.override_combo.findData(other))
    qtbot.mouseClick(win.panel.override_button, Qt.MouseButton.LeftButton)
    rec = win.app.review_store.get(e.sha256)
    assert rec.decision == "overridden" and rec.final_class == other
    assert rec.predicted_class == e.prediction.predicted_id
    assert win.browser.thumb_model.index(0).data(ReviewRole) == "overridden"
    assert "Overridden" in win.panel.review_state.text()
    ev = [x for x in read_events() if x["event"] == "review_override"][-1]
    assert ev["file_sha256"] == e.sha256 and ev["model_sha256"] == win.app.model.card.weights_sha256
    qtbot.keyClick(win.browser.grid, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert win.app.review_store.get(e.sha256) is None
    assert win.browser.thumb_model.index(0).data(ReviewRole) == "pending"
    assert "Pending" in win.panel.review_state.text()
    qtbot.keyClick(
        win.browser.grid,
        Qt.Key.Key_Z,
        Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier,
    )
    assert win.app.review_store.get(e.sha256).decision == "overridden"
    # accept another image, add a note, then filter the grid by review state
    win.app.select(1)
    qtbot.mouseClick(win.panel.accept_button, Qt.MouseButton.LeftButton)
    win.panel.note_edit.setText("asymmetric, re-check in 3 months")
    qtbot.mouseClick(win.panel.note_button, Qt.MouseButton.LeftButton)
    rec1 = win.app.review_store.get(win.app.entries[1].sha256)
    assert rec1.decision == "accepted" and rec1.note == "asymmetric, re-check in 3 months"
    win.browser.review_filter.setCurrentIndex(win.browser.review_filter.findData("overridden"))
    assert win.browser.proxy.rowCount() == 1 and win.browser.proxy.index(0, 0).data() == e.name
    win.browser.review_filter.setCurrentIndex(0)
    assert win.browser.proxy.rowCount() == len(win.app.entries)


def test_review_is_kept_after_close_and_reopen(qtbot, make_window, folder):
    win = make_window()
    win.app.settings.advance_after_review = False
    open_and_wait(qtbot, win, folder)
    win.app.select(2)
    e = win.app.current_entry
    other = next(c.id for c in win.app.model.catalogue.classes if c.id != e.prediction.predicted_id)
    assert win.app.override_prediction(other)
    win.app.set_note("second opinion requested")
    win.close()
    win2 = make_window()
    open_and_wait(qtbot, win2, folder)
    win2.app.select(2)
    rec = win2.app.review_store.get(win2.app.current_entry.sha256)
    assert (
        rec.decision == "overridden" and rec.final_class == other and rec.note == "second opinion requested"
    )
    assert "Overridden" in win2.panel.review_state.text()
    assert win2.panel.note_edit.text() == "second opinion requested"
    assert str(folder.resolve()) in win2.settings.recent_folders


def test_cancel_a_running_batch(qtbot, make_window, tmp_path, monkeypatch):
    write_sample_folder(tmp_path / "many", 30, size=(96, 96))
    real = ui_compute.classify

    def slow_classify(*a, **k):
        time.sleep(0.05)
        return real(*a, **k)

    monkeypatch.setattr(ui_compute, "classify", slow_classify)
    win = make_window()
    win.app.open_folder(tmp_path / "many")
    assert win.status_bar.cancel_button.isVisible() and win.status_bar.progress.isVisible()
    qtbot.waitUntil(lambda: win.app.predictions.handle.done >= 3, timeout=WAIT)
    assert "/ 30" in win.status_bar.progress.format() and "ETA" in win.status_bar.progress.format()
    qtbot.mouseClick(win.status_bar.cancel_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: win.app.predictions.handle.is_finished, timeout=WAIT)
    assert win.app.predictions.handle.state == "cancelled"
    done = sum(e.prediction is not None for e in win.app.entries)
    assert 3 <= done < 30
    assert "Cancelled" in win.statusBar().currentMessage()
    assert not win.status_bar.cancel_button.isVisible()
    # Ctrl+R continues with the images that have no result yet
    qtbot.keyClick(win.browser.grid, Qt.Key.Key_R, Qt.KeyboardModifier.ControlModifier)
    assert win.app.predictions.handle.total == 30 - done
    qtbot.waitUntil(lambda: all(e.done for e in win.app.entries), timeout=WAIT)


def test_failed_model_load_keeps_previous_model(qtbot, make_window, tiny_model, tmp_path):
    def factory(weights, device):
        return load_model(weights, device=device) if weights else tiny_model

    win = make_window(factory)
    before = win.app.model
    bad = tmp_path / "broken.safetensors"
    bad.write_bytes(b"\x00" * 20)
    h = win.app.apply_preferences(str(bad), "cpu")
    qtbot.waitUntil(lambda: h.is_finished, timeout=WAIT)
    qtbot.waitUntil(lambda: bool(win.app.model_error), timeout=WAIT)
    assert win.app.model is before
    assert "broken.safetensors" in win.app.model_error and "\n" not in win.app.model_error
    assert "broken.safetensors" in win.statusBar().currentMessage()
    assert "kept the previous model" in win.panel.card_label.text()
    assert win.settings.weights == ""  # the failed path is not kept: the next launch starts with a model
    for box in win.findChildren(QMessageBox):
        box.close()


def test_default_factory_falls_back_to_untrained_when_demo_missing(monkeypatch):
    real = ui_compute.load_model

    def no_demo(weights=None, **kw):
        if weights is None and not kw.get("random_init"):
            raise ModelLoadError("demo-model.safetensors: the bundled demo model is missing")
        return real(weights, **kw)

    monkeypatch.setattr(ui_compute, "load_model", no_demo)
    clip = ui_compute.default_model_factory("", "cpu")
    assert clip.card.untrained and clip.card.architecture == "MedGrad-Tiny"
    assert clip.card.extra["notes"] == ui_compute.DEMO_MISSING_NOTE


def test_settings_are_restored(qtbot, make_window, app_settings):
    win = make_window()
    win.menus.opacity_slider.setValue(70)
    win.app.set_colormap("viridis")
    win.app.set_method("grad-eclip")
    win.splitter.setSizes([250, 800, 350])
    sizes = win.splitter.sizes()
    win.close()
    win2 = make_window()
    assert win2.splitter.sizes()[0] == sizes[0]
    assert (
        win2.menus.opacity_slider.value() == 70
        and win2.viewers.viewer.overlay_item.opacity() == pytest.approx(0.7)
    )
    assert win2.app.colormap == "viridis" and win2.app.current_method == "grad-eclip"
    assert app_settings.q.fileName().endswith("settings.ini")


def test_first_start_fits_the_screen(qtbot, app_settings, tiny_model):
    """A first start (no saved geometry) opens at the full layout's size on a large screen and never wider
    or taller than the screen it is on."""
    from PySide6.QtCore import QSize

    from medgrad_desktop.ui.main_window import FIRST_START_SIZE, MainWindow, first_start_size

    assert first_start_size(QSize(2560, 1440)) == FIRST_START_SIZE
    assert first_start_size(QSize(1440, 876)) == QSize(1368, 832)
    assert app_settings.geometry is None  # a first start
    win = MainWindow(settings=app_settings, model_factory=lambda weights, device: tiny_model)
    qtbot.addWidget(win)
    avail = win.screen().availableGeometry().size()
    assert win.size() == first_start_size(avail)
    assert win.width() <= avail.width() and win.height() <= avail.height()


def test_compare_view_syncs_zoom_and_pan(qtbot, make_window, folder):
    win = make_window()
    open_and_wait(qtbot, win, folder)
    win.app.select(0)
    wait_map(qtbot, win)
    win.menus.compare_action.setChecked(True)
    viewers = list(win.viewers.compare_viewers.values())
    qtbot.waitUntil(lambda: all(v.map_values is not None for v in viewers), timeout=WAIT)
    viewers[0].zoom_by(2.0)
    viewers[0].horizontalScrollBar().setValue(viewers[0].horizontalScrollBar().maximum() // 2)
    for v in viewers[1:]:
        assert v.zoom == pytest.approx(viewers[0].zoom)
        c, c0 = v.scene_center(), viewers[0].scene_center()
        assert abs(c.x() - c0.x()) <= 2 and abs(c.y() - c0.y()) <= 2
    assert viewers[0].scene_center().x() > viewers[0].sceneRect().width() / 2 - 2
    win.menus.compare_action.setChecked(False)


def test_sort_by_confidence_and_filter_low_confidence(qtbot, make_window, folder):
    win = make_window()
    open_and_wait(qtbot, win, folder)
    win.browser.sort_combo.setCurrentIndex(win.browser.sort_combo.findData("confidence-desc"))
    confs = [
        win.browser.proxy.index(r, 0).data(Qt.ItemDataRole.UserRole + 3)
        for r in range(win.browser.proxy.rowCount())
    ]
    assert confs == sorted(confs, reverse=True)
    win.browser.thumb_model.low_confidence = 1.01  # every analysed image counts as low confidence
    win.browser.low_only.setChecked(True)
    assert win.browser.proxy.rowCount() == sum(e.prediction is not None for e in win.app.entries)


def test_export_action(qtbot, make_window):
    win = make_window()
    assert win.menus.export_action.shortcut().toString() == "Ctrl+E"
    assert win.menus.export_action.isEnabled()


def test_window_shows_before_the_model_and_never_runs_it_on_the_ui_thread(
    qtbot, make_window, folder, tiny_model, monkeypatch
):
    import threading

    ui_thread = threading.get_ident()
    gate = threading.Event()
    model_threads, classify_threads = [], []
    real = ui_compute.classify

    def spy_classify(*a, **k):
        classify_threads.append(threading.get_ident())
        return real(*a, **k)

    monkeypatch.setattr(ui_compute, "classify", spy_classify)

    def slow_factory(weights, device):
        model_threads.append(threading.get_ident())
        gate.wait(30)
        return tiny_model

    win = make_window(slow_factory, wait_model=False)
    assert win.isVisible() and win.app.model is None
    assert "Loading model" in win.status_bar.model_label.text()
    win.app.open_folder(folder)  # queued behind the load; the grid is already listed
    assert len(win.app.entries) == len(list_images(folder))
    gate.set()
    qtbot.waitUntil(lambda: all(e.done for e in win.app.entries), timeout=WAIT)
    assert model_threads and ui_thread not in model_threads
    assert classify_threads and ui_thread not in classify_threads


def test_drop_a_folder_and_recent_folders(qtbot, make_window, folder, tmp_path):
    from PySide6.QtCore import QMimeData, QPointF, QUrl
    from PySide6.QtGui import QDropEvent

    win = make_window()
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(folder / "zz_broken.jpg"))])  # a file: its folder opens
    ev = QDropEvent(
        QPointF(10, 10),
        Qt.DropAction.CopyAction,
        mime,
        Qt.MouseButton.LeftButton,
        Qt.KeyboardModifier.NoModifier,
    )
    win.dropEvent(ev)
    assert win.app.current_folder == folder.resolve()
    other = tmp_path / "other"
    write_sample_folder(other, 2)
    win.app.open_folder(other)
    assert win.settings.recent_folders[:2] == [str(other.resolve()), str(folder.resolve())]
    win.menus.fill_recent_menu()
    titles = [a.text() for a in win.menus.recent_menu.actions()]
    assert titles[:2] == [str(other.resolve()), str(folder.resolve())]
    win.menus.recent_menu.actions()[1].trigger()
    assert win.app.current_folder == folder.resolve()
    qtbot.waitUntil(lambda: all(e.done for e in win.app.entries), timeout=WAIT)  # reopened: predicted again
    assert not win.app.open_folder(tmp_path / "missing")
    assert "not a folder" in win.statusBar().currentMessage()
    assert win.menus.open_action.shortcut().toString() == "Ctrl+O"


def test_self_test_passes_on_a_folder(tmp_path, tiny_model, qapp):
    from medgrad_desktop.ui.selftest.runner import run_self_test

    write_sample_folder(tmp_path / "st", 3)
    assert run_self_test(tmp_path / "st", timeout_s=120, model_factory=lambda w, d: tiny_model) == 0
    assert run_self_test(tmp_path / "nothing-here", timeout_s=5) == 1


def test_self_test_passes_on_the_bundled_demo(qapp):
    """What `make run` and the frozen bundle's check do: the demo model on the demo folder, where a
    method may find no positive evidence on the first image (a flat map is then the right answer)."""
    from medgrad_desktop.ui.selftest.runner import run_self_test

    if not list_images(demo_dir()):
        pytest.skip("no demo folder")
    assert run_self_test(demo_dir(), timeout_s=240) == 0


def test_method_parameters_change_the_map_and_are_cached_separately(qtbot, make_window, folder):
    from medgrad_desktop.core.explain import MedGradParams
    from medgrad_desktop.ui.dialogs.params_dialog import ParamsDialog

    win = make_window()
    open_and_wait(qtbot, win, folder)
    win.app.select(0)
    win.app.set_method("medgrad")
    wait_map(qtbot, win)
    default_map = win.viewers.viewer.map_values.copy()
    dlg = ParamsDialog(win.app.current_params, win)
    dlg.editors["entropy_radius"].setValue(2)
    dlg.editors["combine"].setCurrentIndex(dlg.editors["combine"].findData("multiply"))
    custom = dlg.params()
    assert custom == MedGradParams(entropy_radius=2, combine="multiply")
    dlg.restore_defaults()
    assert dlg.params() == MedGradParams()
    win.app.set_params("medgrad", custom)
    entry, target = win.app.current_entry, win.app.current_target()
    qtbot.waitUntil(
        lambda: (
            win.app.cached_map(entry, "medgrad", target) is not None
            and "custom parameters" in win.viewers.map_caption.text()
        ),
        timeout=WAIT,
    )
    assert win.app.cached_map(entry, "medgrad", target).params["entropy_radius"] == 2
    assert not np.allclose(win.viewers.viewer.map_values, default_map)
    win.app.set_params("medgrad", MedGradParams())  # back to defaults: from the cache, at once
    assert np.allclose(win.viewers.viewer.map_values, default_map)
    assert "custom" not in win.viewers.map_caption.text()


def test_method_parameters_are_kept_for_the_next_session(qtbot, make_window, folder, tmp_path):
    """Parameters set in the dialog come back in a new window on the same settings file, and make its maps."""
    from PySide6.QtCore import QTimer

    from medgrad_desktop.core.explain import MedGradParams
    from medgrad_desktop.ui.dialogs.params_dialog import ParamsDialog

    win = make_window()
    win.app.set_method("medgrad")

    def fill_and_ok() -> None:
        dlg = next(d for d in win.findChildren(ParamsDialog) if d.isVisible())
        dlg.editors["entropy_radius"].setValue(3)
        dlg.editors["combine"].setCurrentIndex(dlg.editors["combine"].findData("multiply"))
        dlg.accept()

    QTimer.singleShot(0, fill_and_ok)
    win.menus.params_action.trigger()  # the gear button: a modal dialog, filled and accepted by the timer
    custom = MedGradParams(entropy_radius=3, combine="multiply")
    assert win.app.params["medgrad"] == custom
    win.close()

    reopened = AppSettings.at(tmp_path / "settings.ini")
    win2 = make_window(lambda weights, device: win.app.model, settings=reopened)
    assert win2.app.params["medgrad"] == custom and win2.app.current_method == "medgrad"
    assert win2.app.params["gradcam"] == default_params("gradcam")
    open_and_wait(qtbot, win2, folder)
    win2.app.select(0)
    entry, target = win2.app.current_entry, win2.app.current_target()
    qtbot.waitUntil(lambda: win2.app.cached_map(entry, "medgrad", target) is not None, timeout=WAIT)
    made_with = win2.app.cached_map(entry, "medgrad", target).params
    assert made_with["entropy_radius"] == 3 and made_with["combine"] == "multiply"
    assert "custom parameters" in win2.viewers.map_caption.text()
    win2.app.set_params("medgrad", MedGradParams())  # back to defaults: nothing custom is left stored
    assert reopened.q.value("params/medgrad") is None


@pytest.mark.parametrize(
    "stored",
    [
        "{not json",
        '{"method": "medgrad", "entropy_radius": 3, "renamed": 1}',
        '{"method": "gradcam"}',
        '{"method": "medgrad", "combine": "add"}',
        '{"method": "medgrad", "entropy_radius": "three"}',
    ],
)
def test_stored_parameters_that_no_longer_fit_fall_back_to_defaults(qtbot, make_window, app_settings, stored):
    app_settings.q.setValue("params/medgrad", stored)
    app_settings.set_method_params(default_params("gradcam").with_(include_cls_in_mean=False))
    win = make_window()
    assert win.app.params["medgrad"] == default_params("medgrad")
    assert app_settings.q.value("params/medgrad") is None  # dropped, so it is not read again
    assert win.app.params["gradcam"].include_cls_in_mean is False  # a good value beside it is kept


def test_a_map_is_cached_under_the_params_that_made_it(qtbot, make_window, folder):
    """Parameters changed while a map was computing must not file the old map under the new key."""
    from medgrad_desktop.core.explain import MedGradParams
    from medgrad_desktop.ui.state.cache import map_key
    from medgrad_desktop.ui.work.jobs import MapResult

    win = make_window()
    open_and_wait(qtbot, win, folder)
    win.app.select(0)
    win.app.set_method("medgrad")
    wait_map(qtbot, win)
    e, target = win.app.current_entry, win.app.current_target()
    hm = win.app.cached_map(e, "medgrad", target)
    other = MedGradParams(alpha=0.5)
    late = MapResult(
        e.path,
        e.sha256,
        win.maps.rgb_cache.get(e.path)[1],
        e.prediction,
        target,
        {"medgrad": hm},
        win.app.model.card.weights_sha256,
        params={"medgrad": other},
    )
    win.app.params["medgrad"] = MedGradParams(alpha=0.25)  # the user moved on to yet other params
    win.maps.on_maps(late)
    assert (
        win.app.map_cache.get(map_key(e.sha256, win.app.model.card.weights_sha256, other, target.key)) is hm
    )
    assert win.app.cached_map(e, "medgrad", target) is None  # nothing filed under alpha=0.25


def test_zoom_keys_wheel_and_fit(qtbot, make_window, folder):
    from PySide6.QtCore import QPoint, QPointF
    from PySide6.QtGui import QWheelEvent

    win = make_window()
    open_and_wait(qtbot, win, folder)
    win.app.select(0)
    qtbot.waitUntil(lambda: win.viewers.viewer.image_size is not None, timeout=WAIT)
    fit_zoom = win.viewers.viewer.zoom
    qtbot.keyClick(win.browser.grid, Qt.Key.Key_Plus)
    assert win.viewers.viewer.zoom == pytest.approx(fit_zoom * 1.25)
    qtbot.keyClick(win.browser.grid, Qt.Key.Key_Minus)
    qtbot.keyClick(win.browser.grid, Qt.Key.Key_Minus)
    assert win.viewers.viewer.zoom == pytest.approx(fit_zoom / 1.25)
    centre = QPointF(win.viewers.viewer.viewport().rect().center())
    wheel = QWheelEvent(
        centre,
        win.viewers.viewer.mapToGlobal(centre),
        QPoint(0, 0),
        QPoint(0, 120),
        Qt.MouseButton.NoButton,
        Qt.KeyboardModifier.NoModifier,
        Qt.ScrollPhase.NoScrollPhase,
        False,
    )
    win.viewers.viewer.wheelEvent(wheel)
    assert win.viewers.viewer.zoom == pytest.approx(fit_zoom)
    win.viewers.viewer.zoom_by(3.0)
    qtbot.keyClick(win.browser.grid, Qt.Key.Key_F)
    assert win.viewers.viewer.zoom == pytest.approx(fit_zoom, rel=0.02)


def test_a_map_is_never_drawn_over_another_image(qtbot, make_window, folder):
    win = make_window()
    open_and_wait(qtbot, win, folder)
    win.app.select(0)
    wait_map(qtbot, win)
    win.app.select(1)
    wait_map(qtbot, win)
    win.maps.rgb_cache.clear()  # as if image 0 had been evicted; its maps are still cached
    win.app.select(0)
    # until image 0 is decoded again, the viewer shows neither image 1 nor image 0's map over it
    assert win.viewers.viewer.image_size is None and win.viewers.viewer.map_values is None
    qtbot.waitUntil(lambda: win.viewers.viewer.map_values is not None, timeout=WAIT)
    assert win.viewers.shown_path == win.app.entries[0].path
    assert win.viewers.viewer.image_size == win.app.entries[0].size


def test_help_lists_shortcuts_and_about_names_the_model(qtbot, make_window):
    win = make_window()
    win.menus.show_shortcuts()
    win.menus.show_about()
    boxes = win.findChildren(QMessageBox)
    texts = " ".join(b.text() for b in boxes)
    assert "Ctrl+Shift+Z" in texts and "opacity" in texts
    assert win.app.model.card.weights_sha256 in texts and "not for diagnosis" in texts.lower()
    for b in boxes:
        b.close()


def test_model_card_shows_training_metrics(tiny_model):
    import copy

    from medgrad_desktop.ui.widgets.prediction_panel import card_html

    card = copy.deepcopy(tiny_model.card)
    card.extra = {"date": "2026-11-28", "metrics": {"balanced_accuracy": 0.8123, "n_test": 240}}
    html = card_html(card, "cpu")
    assert "2026-11-28" in html and "0.812" in html and "240" in html and card.short_hash in html


def test_a_demo_like_model_with_few_classes_and_no_criteria(
    qtbot, make_window, folder, tiny_model, demo_like_weights
):
    """A model whose card embeds its own small catalogue (as the demo model does) drives every list."""
    weights = demo_like_weights

    def factory(w, d):
        return load_model(w, device=d) if w else tiny_model

    win = make_window(factory)
    open_and_wait(qtbot, win, folder)  # predicted by the first model...
    win.settings.weights = str(weights)
    h = win.app.reload_model()
    qtbot.waitUntil(lambda: h.is_finished and win.app.model.card.name == "demo-like", timeout=WAIT)
    assert "DEMO" in win.status_bar.warning_status.text() and "DEMO" in win.panel.warning_label.text()
    assert win.panel.override_combo.count() == 3 and win.browser.class_filter.count() == 4
    assert (
        win.target_picker.combo.findData("class:melanoma") >= 0
        and win.target_picker.combo.findData("class:lentigo") < 0
    )
    # ...and every image is predicted again by the new one
    new_sha = win.app.model.card.weights_sha256
    qtbot.waitUntil(
        lambda: all(
            e.error or (e.prediction and e.prediction.model_sha256 == new_sha) for e in win.app.entries
        ),
        timeout=WAIT,
    )
    win.app.select(0)
    wait_map(qtbot, win)
    assert win.app.current_entry.prediction.predicted_id in (
        "melanoma",
        "common_nevus",
        "seborrheic_keratosis",
    )
    assert "no 7-point criteria" in win.panel.criteria_label.text()


def test_a_failing_map_says_so_and_the_app_goes_on(qtbot, make_window, folder, monkeypatch):
    win = make_window()
    open_and_wait(qtbot, win, folder)
    wait_map(qtbot, win)  # the first image's map is done: no job of the real engine is still in flight
    real = ui_compute.analyze

    def broken(*a, **k):
        raise ValueError("the map could not be computed for this image")

    monkeypatch.setattr(ui_compute, "analyze", broken)
    # the image itself decodes after the map has failed (the order a slow disk gives): the failure must
    # stay on screen once the image arrives (it used to be replaced by an empty map panel)
    real_load = map_controller.load_image

    def slow_load(path):
        time.sleep(0.5)
        return real_load(path)

    monkeypatch.setattr(map_controller, "load_image", slow_load)
    win.app.select(2)  # not shown yet, so its map is not cached
    path = win.app.entries[2].path
    qtbot.waitUntil(lambda: win.viewers.shown_path == path, timeout=WAIT)
    qtbot.waitUntil(lambda: "Map failed" in win.viewers.map_caption.text(), timeout=WAIT)
    qtbot.wait(200)
    assert "could not be computed" in win.viewers.map_caption.text() and win.viewers.viewer.map_values is None
    monkeypatch.setattr(map_controller, "load_image", real_load)
    monkeypatch.setattr(ui_compute, "analyze", real)
    win.app.select(1)
    wait_map(qtbot, win)
    assert "Map failed" not in win.viewers.map_caption.text()
