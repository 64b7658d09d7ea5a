"""The app's export (Ctrl+E) driven as a user would: choose scope, methods and formats, export through
the main window's worker, confirm an overwrite, cancel midway and find nothing written."""

from __future__ import annotations

import csv
import io
import time
from pathlib import Path

import pytest
from PySide6.QtCore import QStandardPaths, Qt, QUrl

from medgrad_desktop.audit import read_events
from medgrad_desktop.data.patients import identifying_values
from medgrad_desktop.resources_path import resources_dir
from medgrad_desktop.review import ReviewRecord
from medgrad_desktop.testing.sample_images import write_sample_folder
from medgrad_desktop.ui.dialogs.export_dialog import (
    ExportDialog,
    default_export_dir,
    default_key_path,
    run_export_dialog,
)
from medgrad_desktop.ui.main_window import MainWindow
from tests.data.test_patient_sets import JANE, OMAR, _all_output_text, _dicom_set

WAIT = 60_000


@pytest.fixture
def win(qtbot, tmp_path, make_window) -> MainWindow:
    w = make_window()
    folder = tmp_path / "images"
    write_sample_folder(folder, 4, bad=1)
    assert w.app.open_folder(folder)
    qtbot.waitUntil(lambda: w.app.entries and all(e.done for e in w.app.entries), timeout=WAIT)
    qtbot.waitUntil(
        lambda: w.app.predictions.handle is None or w.app.predictions.handle.is_finished, timeout=WAIT
    )
    yield w
    w.shutdown()


def _wait_done(qtbot, dlg: ExportDialog) -> None:
    qtbot.waitUntil(lambda: dlg.handle is not None and dlg.handle.is_finished, timeout=WAIT)
    qtbot.wait(50)  # let the queued result/finished slots run


def test_export_whole_folder_with_review(qtbot, win, tmp_path):
    entry = next(e for e in win.app.entries if e.prediction is not None)
    win.app.review_store.put(
        ReviewRecord(
            entry.sha256,
            entry.name,
            "overridden",
            "melanoma",
            entry.prediction.predicted_id,
            "biopsy advised",
        )
    )
    dlg = run_export_dialog(win.app, win.worker, win)
    qtbot.addWidget(dlg)
    assert dlg.isVisible() and dlg.scope() == "folder"
    out = tmp_path / "reports"
    dlg.dir_edit.setText(str(out))
    dlg.method_boxes["gradcam"].setChecked(True)
    dlg.format_boxes["png"].setChecked(False)
    assert dlg.notes_label.text() == "1 note left out: they may contain identifiers"
    dlg.notes_box.setChecked(True)  # the note holds no identifier: included, scrubbed
    assert "can still identify a patient" in dlg.notes_label.text()
    assert dlg.start()
    assert not dlg.export_button.isEnabled() and dlg.close_button.text() == "Cancel"
    _wait_done(qtbot, dlg)
    assert dlg.handle.state == "done", dlg.status.text()
    assert sorted(p.name for p in out.iterdir()) == [
        "report.csv",
        "report.html",
        "report.manifest.json",
        "report.pdf",
    ]
    with open(out / "report.csv", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == len(win.app.entries) == 5
    assert sum(bool(r["error"]) for r in rows) == 1
    overridden = [r for r in rows if r["review_decision"] == "overridden"]
    assert len(overridden) == 1 and overridden[0]["review_note"] == "biopsy advised"
    assert overridden[0]["sha256"] == entry.sha256
    # the report agrees with the app's own predictions
    for r in rows:
        e = next((e for e in win.app.entries if e.sha256 == r["sha256"] and r["sha256"]), None)
        if e is not None:
            assert r["predicted_id"] == e.prediction.predicted_id
            assert float(r["confidence"]) == pytest.approx(e.prediction.confidence, abs=1e-4)
    assert "Wrote 4 files" in dlg.status.text() and "could not be read" in dlg.status.text()
    assert dlg.close_button.text() == "Close" and dlg.export_button.isEnabled()
    assert {m["method"] for m in dlg.result.content.methods} == {"gradcam", win.app.current_method}
    events = [e for e in read_events() if e["event"] == "export"]
    assert len(events) == 5 and all(e["model_sha256"] == win.app.model.card.weights_sha256 for e in events)


def test_current_image_and_overwrite_needs_confirmation(qtbot, win, tmp_path):
    win.app.select(0)
    qtbot.waitUntil(lambda: win.app.current_entry is not None, timeout=WAIT)
    dlg = ExportDialog(win.app, win.worker, win)
    qtbot.addWidget(dlg)
    dlg.set_scope("current")
    assert dlg.chosen_paths() == [win.app.current_entry.path]
    out = tmp_path / "one"
    dlg.dir_edit.setText(str(out))
    for f, cb in dlg.format_boxes.items():
        cb.setChecked(f == "csv")
    assert dlg.start()
    _wait_done(qtbot, dlg)
    first = (out / "report.csv").read_bytes()
    asked: list[list[Path]] = []
    dlg.confirm_overwrite = lambda paths: asked.append(paths) or False
    assert not dlg.start()  # declined: nothing runs, the old report stays
    assert asked and asked[0][0] == out / "report.csv" and (out / "report.csv").read_bytes() == first
    assert "kept" in dlg.status.text()
    dlg.confirm_overwrite = lambda paths: True
    dlg.set_scope("folder")
    assert dlg.start()
    _wait_done(qtbot, dlg)
    assert dlg.handle.state == "done"
    with open(out / "report.csv", encoding="utf-8") as f:
        assert len(list(csv.DictReader(f))) == 5


def test_cancel_midway_writes_nothing(qtbot, win, tmp_path, monkeypatch):
    import medgrad_desktop.reports.builder as builder

    real = builder.analyze_batch

    def slow(*a, **k):
        time.sleep(0.4)
        return real(*a, **k)

    monkeypatch.setattr(builder, "analyze_batch", slow)
    dlg = ExportDialog(win.app, win.worker, win)
    qtbot.addWidget(dlg)
    dlg.show()
    out = tmp_path / "cancelled"
    dlg.dir_edit.setText(str(out))
    assert dlg.start()
    qtbot.waitUntil(lambda: dlg.progress.value() >= 1, timeout=WAIT)
    dlg.reject()  # the Cancel button while running: cancels, the dialog stays
    assert dlg.isVisible() and "Cancelling" in dlg.status.text()
    _wait_done(qtbot, dlg)
    assert dlg.handle.state == "cancelled"
    assert "cancelled" in dlg.status.text().lower()
    assert not out.exists() or not any(out.iterdir())
    assert any(e["event"] == "export_cancelled" for e in read_events())


def test_invalid_choices_are_explained(qtbot, win, tmp_path):
    dlg = ExportDialog(win.app, win.worker, win)
    qtbot.addWidget(dlg)
    for cb in dlg.method_boxes.values():
        cb.setChecked(False)
    assert not dlg.start() and "at least one" in dlg.status.text()
    dlg.method_boxes["medgrad"].setChecked(True)
    dlg.dir_edit.setText(str(tmp_path / "o"))
    dlg.map_edit.setText(str(tmp_path / "o" / "key.csv"))
    assert not dlg.start() and dlg.handle is None  # refused while planning, before any job
    assert "outside the report folder" in dlg.status.text()
    assert not (tmp_path / "o" / "report.pdf").exists()


def test_selected_tiles_are_the_default_scope_in_grid_order(qtbot, win):
    """Tiles selected in the grid reach the dialog through the app model, listed as the grid shows them."""
    grid, proxy = win.browser.grid, win.browser.proxy
    win.browser.sort_combo.setCurrentIndex(win.browser.sort_combo.findData("confidence-desc"))
    rows = [0, 2]
    grid.clearSelection()
    for r in rows:
        grid.selectionModel().select(proxy.index(r, 0), grid.selectionModel().SelectionFlag.Select)
    shown = [proxy.mapToSource(proxy.index(r, 0)).row() for r in rows]
    assert win.app.selected_rows == shown
    dlg = ExportDialog(win.app, win.worker, win)
    qtbot.addWidget(dlg)
    assert dlg.scope() == "selection"
    assert dlg.chosen_paths() == [win.app.entries[r].path for r in shown]


def test_default_folder_is_in_documents_and_never_inside_the_install(qtbot, win, tmp_path):
    docs = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.DocumentsLocation)
    assert default_export_dir("") == Path(docs or Path.home()) / "MedGrad reports"
    inside = resources_dir() / "MedGrad reports"
    assert default_export_dir(str(inside)) == default_export_dir("")  # a remembered install folder is dropped
    win.app.settings.export_dir = str(inside)
    dlg = ExportDialog(win.app, win.worker, win)
    qtbot.addWidget(dlg)
    assert Path(dlg.dir_edit.text()) == default_export_dir("")
    dlg.dir_edit.setText(str(inside))
    assert not dlg.start() and "inside the app's own files" in dlg.status.text()
    assert not inside.exists()


def test_export_writes_the_key_beside_the_report_and_offers_to_open_it(qtbot, win, tmp_path):
    dlg = ExportDialog(win.app, win.worker, win)
    qtbot.addWidget(dlg)
    opened: list[QUrl] = []
    dlg.open_url = opened.append
    out = tmp_path / "reports"
    dlg.dir_edit.setText(str(out))
    for f, cb in dlg.format_boxes.items():
        cb.setChecked(f in ("html", "csv"))
    assert not dlg.open_button.isEnabled() and not dlg.show_button.isEnabled()
    assert "re-identifies" in dlg.key_warning.text() and dlg.key_warning.isEnabled()
    assert dlg.start()
    _wait_done(qtbot, dlg)
    assert dlg.handle.state == "done", dlg.status.text()
    key = default_key_path(out, "report")
    assert key.parent == tmp_path and "PSEUDONYM KEY" in key.name and key.is_file()
    assert dlg.result.pseudonym_map == key and not any(p.name == key.name for p in out.iterdir())
    text = key.read_text(encoding="utf-8")
    assert "IMG-0001" in text and win.app.entries[0].name in text  # the key re-identifies
    assert "re-identifies" in dlg.status.text()
    assert dlg.open_button.isEnabled() and dlg.show_button.isEnabled()
    qtbot.mouseClick(dlg.open_button, Qt.MouseButton.LeftButton)
    qtbot.mouseClick(dlg.show_button, Qt.MouseButton.LeftButton)
    assert [u.toLocalFile() for u in opened] == [str(out / "report.html"), str(out)]
    # the folder is remembered for the next export
    again = ExportDialog(win.app, win.worker, win)
    qtbot.addWidget(again)
    assert Path(again.dir_edit.text()) == out


def test_no_key_without_deidentification_or_when_declined(qtbot, win, tmp_path):
    dlg = ExportDialog(win.app, win.worker, win)
    qtbot.addWidget(dlg)
    out = tmp_path / "r"
    assert dlg.key_path(out, "report") == default_key_path(out, "report")
    dlg.key_box.setChecked(False)
    assert dlg.key_path(out, "report") is None and not dlg.map_edit.isEnabled()
    dlg.key_box.setChecked(True)
    dlg.deid_box.setChecked(False)
    assert dlg.key_path(out, "report") is None and not dlg.key_box.isEnabled()


def _window_on_dicom_set(qtbot, make_window, folder):
    """A window on a freshly drawn DICOM patient set (two patients, several visits), every image analysed."""
    _dicom_set(folder)
    win = make_window()
    win.app.set_recursive(True)
    assert win.app.open_folder(folder)
    qtbot.waitUntil(lambda: all(e.done for e in win.app.entries), timeout=WAIT)
    return win


def test_export_from_the_app_groups_patients_and_leaves_no_identifier(qtbot, make_window, tmp_path):
    """The dialog's report of a DICOM set: patient / lesion / visit pseudonyms in the CSV, and none of
    the headers' identifying values (names, IDs, dates of birth, institution...) in any output."""
    win = _window_on_dicom_set(qtbot, make_window, tmp_path / "set")
    paths = [e.path for e in win.app.entries]
    e = next(e for e in win.app.entries if e.prediction is not None)
    note = "Discussed with " + ", ".join(JANE.identifying_strings()[:3])
    win.app.review_store.put(ReviewRecord(e.sha256, e.name, "overridden", "melanoma", None, note))
    dlg = run_export_dialog(win.app, win.worker, win)
    qtbot.addWidget(dlg)
    out = tmp_path / "reports"
    dlg.dir_edit.setText(str(out))
    dlg.format_boxes["png"].setChecked(True)
    dlg.notes_box.setChecked(True)  # the note is included, scrubbed of the header values
    assert dlg.deid_box.isChecked() and dlg.start()
    _wait_done(qtbot, dlg)
    assert dlg.handle.state == "done", dlg.status.text()
    texts = _all_output_text(out)
    identifying = (
        set(JANE.identifying_strings()) | set(OMAR.identifying_strings()) | identifying_values(paths)
    )
    identifying |= {p.name for p in paths} | {p.stem for p in paths}
    identifying = {s for s in identifying if len(s) >= 3}
    assert len(identifying) > 40
    assert [(where, s) for where, text in texts.items() for s in identifying if s in text] == []
    rows = list(csv.DictReader(io.StringIO((out / "report.csv").read_text(encoding="utf-8"))))
    assert sorted({r["patient"] for r in rows}) == ["P-001", "P-002"]
    assert all(r["lesion"].startswith("L-") and r["visit"].startswith("V-") for r in rows)
    assert any("[removed]" in r["review_note"] for r in rows)


def test_notes_are_counted_left_out_or_scrubbed_and_reviewers_coded(qtbot, make_window, tmp_path):
    """The dialog says how many notes a de-identified report leaves out; ticking the box includes them,
    scrubbed; either way the report names each decision's reviewer by code (the key file names them)."""
    from tests.reports.test_report_notes import LEAKS, NOTES, found

    win = _window_on_dicom_set(qtbot, make_window, tmp_path / "set")
    for e in win.app.entries:
        if e.path.name in NOTES and e.sha256:
            reviewer, note = NOTES[e.path.name]
            win.app.review_store.put(
                ReviewRecord(e.sha256, e.name, "overridden", "melanoma", None, note, reviewer=reviewer)
            )
    dlg = run_export_dialog(win.app, win.worker, win)
    qtbot.addWidget(dlg)
    out = tmp_path / "reports"
    dlg.dir_edit.setText(str(out))
    assert dlg.notes_label.text() == "3 notes left out: they may contain identifiers"
    assert not dlg.notes_box.isChecked()
    dlg.deid_box.setChecked(False)  # a named report includes the notes: no choice to make
    assert not dlg.notes_box.isEnabled() and dlg.notes_label.text() == ""
    dlg.deid_box.setChecked(True)
    assert dlg.start()
    _wait_done(qtbot, dlg)
    assert dlg.handle.state == "done", dlg.status.text()
    assert "3 notes left out: they may contain identifiers" in dlg.status.text()
    reviewers = sorted({r for r, _ in NOTES.values()})
    assert found(_all_output_text(out), [*LEAKS, "zebrawood", *reviewers]) == []
    rows = list(csv.DictReader(io.StringIO((out / "report.csv").read_text(encoding="utf-8"))))
    coded = [r for r in rows if r["review_decision"] == "overridden"]
    assert sorted({r["review_reviewer"] for r in coded}) == ["R-01", "R-02"]
    assert all(r["review_note_left_out"] == "yes" and r["review_updated"] for r in coded)
    key = list(csv.DictReader(io.StringIO(default_key_path(out, "report").read_text(encoding="utf-8"))))
    assert sorted(r["reviewer"] for r in key if r["pseudonym"].startswith("R-")) == reviewers

    dlg.notes_box.setChecked(True)
    assert "3 notes included, scrubbed" in dlg.notes_label.text()
    assert "can still identify a patient" in dlg.notes_label.text()
    dlg.confirm_overwrite = lambda paths: True
    assert dlg.start()
    _wait_done(qtbot, dlg)
    assert dlg.handle.state == "done", dlg.status.text()
    texts = _all_output_text(out)
    assert found(texts, [*LEAKS, *reviewers]) == []
    rows = list(csv.DictReader(io.StringIO((out / "report.csv").read_text(encoding="utf-8"))))
    notes = [r["review_note"] for r in rows if r["review_decision"] == "overridden"]
    assert len(notes) == 3 and all("[removed]" in n for n in notes)
    assert any("zebrawood" in n for n in notes)  # the finding stays, the identifiers go
