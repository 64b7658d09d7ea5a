"""Small things a user met on the way, each driven through the real window: T reaches the free-text box
and Esc leaves it; the export dialog remembers its choices, proposes a free file name, estimates its time
from measured maps and says so when no viewer opens the report; long class names leave the bars their
width; override badges name classes as the catalogue does; the model card and the pseudonym-key
warning are whole at 1024 x 640; the viewer follows the grid's review filter."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QTextDocument
from PySide6.QtWidgets import QApplication, QMessageBox

from medgrad_desktop.core.prediction import format_probability
from medgrad_desktop.review import ReviewRecord
from medgrad_desktop.testing.sample_images import write_sample_folder
from medgrad_desktop.ui.dialogs.export_dialog import ExportDialog, free_report_name
from medgrad_desktop.ui.main_window import MainWindow
from medgrad_desktop.ui.state.settings import ExportChoices
from medgrad_desktop.ui.widgets.probability_bars import BAR_MIN
from medgrad_desktop.ui.widgets.thumbnail_tiles import tile_badges
from medgrad_desktop.ui.work.timing import MeasuredTimes, describe_duration

WAIT = 60_000
LONG_NAME = "Pigmented superficial basal cell carcinoma with ulceration and regression"


def ready(qtbot, win: MainWindow, folder: Path, images: int = 4) -> None:
    if not folder.exists():
        write_sample_folder(folder, images)
    assert win.app.open_folder(folder)
    qtbot.waitUntil(lambda: win.app.entries and all(e.done for e in win.app.entries), timeout=WAIT)
    qtbot.waitUntil(lambda: not win.app.predictions.running, timeout=WAIT)


def focus_grid(qtbot, win: MainWindow) -> None:
    win.browser.grid.setFocus()
    qtbot.waitUntil(lambda: QApplication.focusWidget() is win.browser.grid, timeout=5000)


def press(qtbot, key: Qt.Key) -> None:
    qtbot.keyClick(QApplication.focusWidget(), key)


def export_and_wait(qtbot, dlg: ExportDialog) -> None:
    assert dlg.start(), dlg.status.text()
    qtbot.waitUntil(lambda: dlg.handle.is_finished, timeout=WAIT)
    qtbot.wait(50)
    assert dlg.handle.state == "done", dlg.status.text()


# ---------------------------------------------------------------------- the free-text box by keyboard
def test_t_reaches_the_free_text_box_and_esc_leaves_it(qtbot, make_window, tmp_path):
    win = make_window()
    ready(qtbot, win, tmp_path / "images")
    focus_grid(qtbot, win)
    picker = win.target_picker
    press(qtbot, Qt.Key.Key_T)
    qtbot.waitUntil(lambda: QApplication.focusWidget() is picker.free_text, timeout=5000)
    qtbot.keyClicks(picker.free_text, "ruler")
    press(qtbot, Qt.Key.Key_Escape)  # leaves without applying what was typed
    qtbot.waitUntil(lambda: QApplication.focusWidget() is win.browser.grid, timeout=5000)
    assert picker.free_text.text() == "" and win.app.target_choice.kind == "predicted"
    first = win.app.current_entry
    press(qtbot, Qt.Key.Key_A)  # the review keys work again at once
    assert win.app.is_reviewed(first)

    press(qtbot, Qt.Key.Key_T)
    qtbot.waitUntil(lambda: QApplication.focusWidget() is picker.free_text, timeout=5000)
    qtbot.keyClicks(picker.free_text, "a ruler")
    press(qtbot, Qt.Key.Key_Return)
    assert win.app.target_choice.kind == "text" and win.app.target_choice.value == "a ruler"
    press(qtbot, Qt.Key.Key_Escape)  # applied text stays applied
    qtbot.waitUntil(lambda: QApplication.focusWidget() is win.browser.grid, timeout=5000)
    assert win.app.target_choice.value == "a ruler" and picker.free_text.text() == "a ruler"

    assert "T types here, Esc leaves" in picker.free_text.toolTip()
    win.menus.show_shortcuts()
    box = next(b for b in win.findChildren(QMessageBox) if b.windowTitle() == "Keyboard shortcuts")
    assert "<b>T</b>" in box.text() and "Esc leaves the box" in box.text()
    box.close()


# ---------------------------------------------------------------------- the export dialog
def test_export_dialog_remembers_its_choices_and_proposes_a_free_name(qtbot, make_window, tmp_path):
    win = make_window()
    ready(qtbot, win, tmp_path / "images")
    out = tmp_path / "reports"
    first = ExportDialog(win.app, win.worker, win)
    qtbot.addWidget(first)
    assert first.name_edit.text() == "report" and first.deid_box.isChecked()
    first.dir_edit.setText(str(out))
    first.set_scope("current")
    first.method_boxes["gradcam"].setChecked(True)
    for f, cb in first.format_boxes.items():
        cb.setChecked(f == "csv")
    first.deid_box.setChecked(False)
    export_and_wait(qtbot, first)
    assert win.app.settings.export_choices == ExportChoices(
        "current", ("gradcam", win.app.current_method), ("csv",), False
    )

    again = ExportDialog(win.app, win.worker, win)  # the next export offers the same choices
    qtbot.addWidget(again)
    assert again.scope() == "current" and Path(again.dir_edit.text()) == out
    assert set(again.chosen_methods()) == {"gradcam", win.app.current_method}
    assert again.chosen_formats() == ["csv"]
    # de-identification is never inherited: a report naming patients is asked for each time
    assert again.deid_box.isChecked() and again.private_note.isHidden()
    today = date.today().isoformat()
    assert again.name_edit.text() == f"report {today}"  # report.csv is there: never proposed again
    (out / f"report {today}.csv").write_text("x")
    assert free_report_name(out) == f"report {today} (2)"
    again.dir_edit.setText(str(tmp_path / "elsewhere"))
    assert again.name_edit.text() == "report"  # an empty folder: the plain name
    qtbot.keyClicks(again.name_edit, " of May")  # the user's own name is kept
    again.dir_edit.setText(str(out))
    assert again.name_edit.text() == "report of May"

    win.app.settings.q.setValue("export/choices", json.dumps({"scope": "folder", "methods": 3}))
    assert win.app.settings.export_choices is None  # unreadable: the defaults
    fresh = ExportDialog(win.app, win.worker, win)
    qtbot.addWidget(fresh)
    assert fresh.deid_box.isChecked() and fresh.chosen_methods() == [win.app.current_method]


def test_export_estimate_comes_from_the_measured_maps(qtbot, make_window, tmp_path):
    win = make_window()
    ready(qtbot, win, tmp_path / "images")
    qtbot.waitUntil(lambda: win.app.map_times.seconds_per_map() is not None, timeout=WAIT)
    per_map = win.app.map_times.seconds_per_map()  # the shown image's map, measured in the worker
    dlg = ExportDialog(win.app, win.worker, win)
    qtbot.addWidget(dlg)
    dlg.set_scope("folder")
    assert dlg.estimate.text().startswith(
        f"Estimated time: {describe_duration(per_map * 4)} (4 images × 1 map"
    )

    win.app.map_times = MeasuredTimes()  # nothing measured yet: no figure at all
    unmeasured = ExportDialog(win.app, win.worker, win)
    qtbot.addWidget(unmeasured)
    assert unmeasured.estimate.text() == "" and unmeasured.estimate.isHidden()

    win.app.map_times.add_maps(90.0, 3)  # 30 s a map
    slow = ExportDialog(win.app, win.worker, win)
    qtbot.addWidget(slow)
    slow.set_scope("folder")
    assert "about 2 min" in slow.estimate.text()
    slow.method_boxes["gradcam"].setChecked(True)
    assert "about 4 min" in slow.estimate.text() and "4 images × 2 maps" in slow.estimate.text()


def test_open_report_says_what_to_install_when_no_viewer_opens_it(qtbot, make_window, tmp_path):
    win = make_window()
    ready(qtbot, win, tmp_path / "images")
    dlg = ExportDialog(win.app, win.worker, win)
    qtbot.addWidget(dlg)
    dlg.show()
    dlg.dir_edit.setText(str(tmp_path / "reports"))
    dlg.set_scope("current")
    for f, cb in dlg.format_boxes.items():
        cb.setChecked(f == "pdf")
    export_and_wait(qtbot, dlg)
    dlg.open_url = lambda url: False  # the desktop has no application for PDF files
    qtbot.mouseClick(dlg.open_button, Qt.MouseButton.LeftButton)
    boxes = [b for b in dlg.findChildren(QMessageBox) if b.windowTitle() == "Report not opened"]
    assert boxes and "PDF viewer" in boxes[0].text() and str(dlg.report_file()) in boxes[0].text()
    assert str(dlg.report_file()) in dlg.status.text()
    qtbot.mouseClick(dlg.show_button, Qt.MouseButton.LeftButton)
    assert "No file manager" in dlg.status.text() and str(dlg.report_file().parent) in dlg.status.text()
    for b in dlg.findChildren(QMessageBox):
        b.close()


def test_export_dialog_and_its_key_warning_fit_a_small_screen(qtbot, make_window, tmp_path):
    win = make_window()
    ready(qtbot, win, tmp_path / "images")
    e = win.app.current_entry
    win.app.review_store.put(ReviewRecord(e.sha256, e.name, "overridden", "melanoma", None, "a note"))
    dlg = ExportDialog(win.app, win.worker, win)
    qtbot.addWidget(dlg)
    dlg.show()
    qtbot.waitExposed(dlg)
    screen = dlg.screen().availableGeometry()
    assert screen.contains(dlg.frameGeometry())  # on the screen, all of it
    for label in (dlg.key_warning, dlg.notes_label):  # wrapped labels: every line shown
        assert label.text() and label.height() >= label.heightForWidth(label.width())
    area = dlg.options
    assert area.widget().height() >= area.content_height(area.viewport().width())  # all reachable
    assert area.widget().width() <= area.viewport().width()  # nothing cut at the right
    area.verticalScrollBar().setValue(area.verticalScrollBar().maximum())
    bottom = dlg.key_warning.mapTo(area.viewport(), dlg.key_warning.rect().bottomLeft()).y()
    assert bottom <= area.viewport().height()  # scrolled down, the warning is in view


# ---------------------------------------------------------------------- long class names
@pytest.fixture
def long_name_weights(tmp_path, tiny_model) -> Path:
    from medgrad_desktop.core.checkpoint import save_checkpoint
    from medgrad_desktop.resources_path import resources_dir

    cat = json.loads((resources_dir() / "catalogue.json").read_text())
    for c in cat["classes"]:
        c["display_name"] = f"{LONG_NAME} ({c['display_name']})"
    return save_checkpoint(
        tiny_model.model,
        tmp_path / "long-names.safetensors",
        {
            "name": "long-names",
            "architecture": "MedGrad-Tiny",
            "arch_config": tiny_model.card.arch_config,
            "demo": True,
            "catalogue_data": cat,
        },
    )


def test_long_class_names_leave_the_bars_their_width_and_badges_show_names(
    qtbot, make_window, tmp_path, long_name_weights
):
    from medgrad_desktop.core.model import load_model

    model = load_model(str(long_name_weights), device="cpu")
    win = make_window(factory=lambda weights, device: model)
    win.resize(1024, 640)
    ready(qtbot, win, tmp_path / "images")
    bars = win.panel.topk_bars
    qtbot.waitUntil(lambda: bars.isVisible(), timeout=WAIT)
    name_w, bar_w, pct_w = bars.columns()
    assert bar_w >= BAR_MIN and name_w + bar_w + pct_w <= bars.width()
    top = win.app.current_entry.prediction.top_k(5)
    shown = bars.shown_names()
    assert len(shown) == len(top) and all(s.endswith("…") for s in shown)  # elided, never wrapped
    assert bars.row_tooltip(0) == f"{top[0][1]}: {format_probability(top[0][2])}"  # the whole name
    assert not win.panel.topk_label.isVisible()

    other = next(c for c in model.catalogue.classes if c.id != win.app.current_entry.prediction.predicted_id)
    win.app.settings.advance_after_review = False
    assert win.app.override_prediction(other.id)
    e = win.app.current_entry
    badges = tile_badges(e.prediction, win.app.review_of(e.sha256), 0.5, win.browser.thumb_model.class_names)
    assert f"✎ {other.display_name}" in [text for text, _fg, _bg in badges]
    assert all(other.id not in text for text, _fg, _bg in badges)


def test_model_card_is_whole_in_a_narrow_panel(qtbot, make_window, tiny_model):
    import copy

    from medgrad_desktop.ui.widgets.prediction_panel import card_html

    win = make_window()
    win.resize(1024, 640)
    card = copy.deepcopy(tiny_model.card)
    card.weights_path = "/models/ham10000_vitb16_finetuned_on_dermoscopy_2026_11_28.safetensors"
    card.extra = {"date": "2026-12-02T14:36:41.123456+00:00", "base_weights": "/models/openai_vitb16.pt"}
    win.panel.set_model(card, "cpu")
    label = win.panel.card_label
    qtbot.waitUntil(lambda: label.width() > 0, timeout=5000)
    assert label.width() < 260  # the narrow panel of a 1024 px window
    width = label.contentsRect().width()
    doc = QTextDocument()
    doc.setDefaultFont(label.font())
    doc.setHtml(label.text())
    doc.setTextWidth(width)
    overflow = []
    block = doc.begin()
    while block.isValid():
        left, lines = doc.documentLayout().blockBoundingRect(block).left(), block.layout()
        for i in range(lines.lineCount()):
            if left + lines.lineAt(i).x() + lines.lineAt(i).naturalTextWidth() > width + 0.5:
                overflow.append(block.text())
        block = block.next()
    assert overflow == []  # every line of the card fits the label's width: nothing cut at its edge
    assert "<table" not in label.text()  # a QLabel lays a table out wider than itself
    assert "ham10000_\u200b" in card_html(card, "cpu")  # the long file name may wrap


# ---------------------------------------------------------------------- the viewer follows the filter
def test_the_viewer_follows_the_review_filter(qtbot, make_window, tmp_path):
    win = make_window()
    ready(qtbot, win, tmp_path / "images", images=6)
    win.app.settings.advance_after_review = False
    for row in (0, 1):
        win.app.select(row)
        assert win.app.accept_prediction()
    win.app.select(0)
    entries, review = win.app.entries, win.browser.review_filter
    focus_grid(qtbot, win)

    def shows(row: int) -> None:
        assert win.app.current_row == row
        qtbot.waitUntil(lambda: win.viewers.shown_path == entries[row].path, timeout=WAIT)
        assert win.panel.file_label.text() == str(entries[row].path)

    review.setCurrentIndex(review.findData("pending"))  # image 0 is hidden: the next shown one
    shows(2)
    focus_grid(qtbot, win)
    press(qtbot, Qt.Key.Key_Right)
    shows(3)
    press(qtbot, Qt.Key.Key_Left)
    press(qtbot, Qt.Key.Key_Left)  # the accepted images 0 and 1 are skipped: 2 is the first shown
    shows(2)
    review.setCurrentIndex(review.findData("accepted"))  # none after image 2 is shown: the last that is
    shows(1)
    focus_grid(qtbot, win)
    press(qtbot, Qt.Key.Key_Right)
    shows(1)
    press(qtbot, Qt.Key.Key_Left)
    shows(0)
    review.setCurrentIndex(review.findData("overridden"))  # nothing shown: no current image
    assert win.app.current_entry is None and win.panel.title.text() == "No image selected"
    assert win.viewers.shown_path is None
    review.setCurrentIndex(review.findData(""))
    assert win.app.current_row == win.browser.proxy.mapToSource(win.browser.proxy.index(0, 0)).row()
