"""The app model on the project store: a reopened folder shows its stored predictions at once and runs
no forward pass, a moved folder finds them by content, and decisions carry the reviewer's name."""

from __future__ import annotations

import json
import shutil

import pytest

import medgrad_desktop.ui.work.compute as compute
from medgrad_desktop.store import ProjectStore
from medgrad_desktop.testing.sample_images import write_sample_folder
from medgrad_desktop.ui.dialogs.preferences_dialog import PreferencesDialog
from medgrad_desktop.ui.state.app_model import AppModel
from medgrad_desktop.ui.work.worker import ModelWorker

WAIT = 60_000


def _app(qtbot, settings, model) -> tuple[AppModel, ModelWorker]:
    worker = ModelWorker()
    app = AppModel(settings, worker, lambda w, d: model)
    worker.start()
    app.reload_model()
    qtbot.waitUntil(lambda: app.model is not None, timeout=WAIT)
    return app, worker


def _no_forward(monkeypatch) -> None:
    def refuse(*_a, **_k):
        raise AssertionError("a forward pass ran for an image whose prediction is stored")

    monkeypatch.setattr(compute, "classify", refuse)


def test_reopened_and_moved_folders_use_stored_predictions(
    qtbot, app_settings, tiny_model, tmp_path, monkeypatch
):
    folder = tmp_path / "visit"
    write_sample_folder(folder, 4)
    app, worker = _app(qtbot, app_settings, tiny_model)
    assert app.open_folder(folder)
    qtbot.waitUntil(lambda: all(e.done for e in app.entries) and not app.predictions.running, timeout=WAIT)
    first = {e.name: e.prediction for e in app.entries}
    assert all(first.values())
    store = ProjectStore.shared()
    assert store.info()["predictions"] == 4
    worker.stop()

    _no_forward(monkeypatch)
    again, worker = _app(qtbot, app_settings, tiny_model)
    assert again.open_folder(folder)
    # at once, before any job ran: every tile has its prediction
    assert {e.name: e.prediction for e in again.entries} == first
    assert again.project.prefilled == 4 and again.predictions.handle is None
    qtbot.waitUntil(lambda: all(e.thumbnail is not None for e in again.entries), timeout=WAIT)
    assert not any(e.error for e in again.entries)
    worker.stop()

    moved = tmp_path / "renamed" / "visit-2024"
    moved.parent.mkdir()
    shutil.move(folder, moved)
    third, worker = _app(qtbot, app_settings, tiny_model)
    assert third.open_folder(moved)
    qtbot.waitUntil(
        lambda: all(e.done for e in third.entries) and not third.predictions.running, timeout=WAIT
    )
    assert {e.name: e.prediction for e in third.entries} == first  # found by content, no forward pass
    assert not any(e.error for e in third.entries)
    worker.stop()


def test_decisions_carry_the_reviewer_name(qtbot, app_settings, tiny_model, tmp_path):
    write_sample_folder(tmp_path / "imgs", 2)
    app_settings.reviewer_name = "Dr Ada Reviewer"
    app, worker = _app(qtbot, app_settings, tiny_model)
    asked: list[bool] = []
    app.project.ask_reviewer = lambda: asked.append(True) or "someone else"
    assert app.open_folder(tmp_path / "imgs")
    qtbot.waitUntil(lambda: all(e.done for e in app.entries) and not app.predictions.running, timeout=WAIT)
    assert app.accept_prediction()
    rec = app.review_of(app.current_entry.sha256)
    assert rec.reviewer == "Dr Ada Reviewer" and not asked
    row = ProjectStore.shared().get_review(app.current_entry.sha256)
    assert row["reviewer"] == "Dr Ada Reviewer" and row["decision"] == "accepted"
    worker.stop()


def test_the_name_is_asked_once_at_the_first_decision(qtbot, app_settings, tiny_model, tmp_path):
    """Never when a folder opens (the window would wait on a dialog before analysing anything)."""
    write_sample_folder(tmp_path / "imgs", 2)
    app, worker = _app(qtbot, app_settings, tiny_model)
    asked: list[bool] = []
    app.project.ask_reviewer = lambda: asked.append(True) or "Dr Once"
    assert app.open_folder(tmp_path / "imgs") and app.open_folder(tmp_path / "imgs")
    assert asked == []
    qtbot.waitUntil(lambda: all(e.done for e in app.entries) and not app.predictions.running, timeout=WAIT)
    assert app.accept_prediction()
    app.select(1)
    assert app.accept_prediction()
    assert asked == [True] and app_settings.reviewer_name == "Dr Once"
    assert app.review_store.reviewer == "Dr Once"
    assert app.review_of(app.current_entry.sha256).reviewer == "Dr Once"
    worker.stop()


def test_reviewer_name_is_changed_in_preferences(qtbot, make_window, tiny_model, tmp_path, monkeypatch):
    """Preferences shows the name decisions carry and changes it for the next decisions."""
    win = make_window(lambda weights, device: tiny_model)
    win.app.set_reviewer("Dr First")
    write_sample_folder(tmp_path / "imgs", 2)
    assert win.app.open_folder(tmp_path / "imgs")
    qtbot.waitUntil(lambda: all(e.done for e in win.app.entries), timeout=WAIT)
    seen: list[str] = []

    def accept_with_new_name(dlg) -> int:
        seen.append(dlg.reviewer_edit.text())
        dlg.reviewer_edit.setText("  Dr Second ")
        return 1

    monkeypatch.setattr(PreferencesDialog, "exec", accept_with_new_name)
    monkeypatch.setattr(win.app, "apply_preferences", lambda weights, device: None)  # no model reload
    win.menus.open_preferences()
    assert seen == ["Dr First"] and win.app.settings.reviewer_name == "Dr Second"
    win.app.select(0)
    sha = win.app.current_entry.sha256
    assert win.app.accept_prediction()  # (the view then moves on to the next unreviewed image)
    assert win.app.review_of(sha).reviewer == "Dr Second"


def test_maps_the_app_makes_are_recorded_in_the_store(qtbot, make_window, tiny_model, tmp_path):
    """What each shown map was made from (parameters, target) and its strength, not its pixels."""
    win = make_window(lambda weights, device: tiny_model)
    write_sample_folder(tmp_path / "imgs", 2)
    assert win.app.open_folder(tmp_path / "imgs")
    qtbot.waitUntil(lambda: all(e.done for e in win.app.entries), timeout=WAIT)
    win.app.select(0)
    entry = win.app.current_entry
    target = win.app.current_target()
    qtbot.waitUntil(
        lambda: win.app.cached_map(entry, win.app.current_method, target) is not None, timeout=WAIT
    )
    hm = win.app.cached_map(entry, win.app.current_method, target)
    rows = ProjectStore.shared()._query(
        "SELECT params, target, score FROM maps WHERE image_sha256 = ?", (entry.sha256,)
    )
    mine = [r for r in rows if json.loads(r[0])["method"] == win.app.current_method and r[1] == target.key]
    assert len(mine) == 1 and mine[0][2] == pytest.approx(hm.score)
    assert json.loads(mine[0][0]) == win.app.params[win.app.current_method].to_dict()
