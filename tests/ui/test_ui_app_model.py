"""The app model on its own, with no window: it needs no widget, performs the review actions with
undo and redo, and re-predicts when another model replaces the one that made the predictions."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from medgrad_desktop.core.model import load_model
from medgrad_desktop.testing.sample_images import write_sample_folder
from medgrad_desktop.ui.state.app_model import AppModel
from medgrad_desktop.ui.work.worker import ModelWorker

WAIT = 60_000
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def app_model(qtbot, app_settings, tiny_model, tmp_path):
    """An app model with a running worker, the tiny model (or the weights in the settings) and a folder
    of three analysed images."""
    worker = ModelWorker()
    app = AppModel(app_settings, worker, lambda w, d: load_model(w, device=d) if w else tiny_model)
    worker.start()
    app.reload_model()
    qtbot.waitUntil(lambda: app.model is not None, timeout=WAIT)
    write_sample_folder(tmp_path / "images", 3)
    assert app.open_folder(tmp_path / "images")
    qtbot.waitUntil(lambda: all(e.done for e in app.entries) and not app.predictions.running, timeout=WAIT)
    yield app
    worker.stop()


def test_the_app_model_imports_no_widget():
    code = (
        "import sys, medgrad_desktop.ui.state.app_model\n"
        "print(sorted(m for m in sys.modules if m.startswith('PySide6.Qt')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True)
    assert "PySide6.QtWidgets" not in out.stdout and "PySide6.QtCore" in out.stdout


def test_review_actions_undo_and_redo_and_say_so(app_model):
    app = app_model
    changed: list[str] = []
    app.review_changed.connect(changed.append)
    assert app.current_row == 0 and app.entries[0].prediction is not None
    e = app.current_entry
    other = next(c.id for c in app.model.catalogue.classes if c.id != e.prediction.predicted_id)
    assert app.override_prediction(other)
    assert app.review_of(e.sha256).decision == "overridden" and changed == [e.sha256]
    assert app.set_note("re-check in 3 months") and not app.set_note("re-check in 3 months")
    assert app.review_of(e.sha256).final_class == other
    app.undo()
    assert app.review_of(e.sha256).note == ""
    app.undo()
    assert app.review_of(e.sha256) is None
    app.redo()
    assert app.review_of(e.sha256).decision == "overridden"
    app.select(1)
    assert app.accept_prediction() and app.review_of(app.entries[1].sha256).decision == "accepted"
    assert app.reset_review() and app.review_of(app.entries[1].sha256).decision == "pending"
    assert len(changed) == 7


def test_a_new_model_makes_the_old_predictions_stale(qtbot, app_model, demo_like_weights):
    app = app_model
    refreshed: list[bool] = []
    app.entries_refreshed.connect(lambda: refreshed.append(True))
    old_sha = app.model.card.weights_sha256
    h = app.apply_preferences(str(demo_like_weights), "cpu")
    qtbot.waitUntil(lambda: h.is_finished and app.model.card.weights_sha256 != old_sha, timeout=WAIT)
    assert refreshed and app.predictions.handle is not None
    new_sha = app.model.card.weights_sha256
    qtbot.waitUntil(
        lambda: all(e.prediction and e.prediction.model_sha256 == new_sha for e in app.entries), timeout=WAIT
    )
    assert {e.prediction.predicted_id for e in app.entries} <= {
        "melanoma",
        "common_nevus",
        "seborrheic_keratosis",
    }


def test_decisions_signal_a_move_on_and_undo_returns_to_the_image(qtbot, app_model):
    app = app_model
    app.select(0)
    first = app.current_entry
    with qtbot.waitSignal(app.review_decided, timeout=1000):
        assert app.accept_prediction()
    assert app.is_reviewed(first)
    app.select(2)
    with qtbot.assertNotEmitted(app.review_decided):
        assert app.set_note("looked again")  # a note is no decision
    app.undo()  # the note on image 2
    app.undo()  # the accept on image 0: shown again
    assert app.current_entry is first and not app.is_reviewed(first)
    app.redo()
    assert app.current_entry is first and app.is_reviewed(first)


def test_failed_preferences_restore_the_settings_that_worked(qtbot, app_model, tmp_path):
    app = app_model
    bad = tmp_path / "text.pt"
    bad.write_text("not weights")
    with qtbot.waitSignal(app.model_failed, timeout=WAIT):
        app.apply_preferences(str(bad), "cpu")
    assert app.settings.weights == "" and app.settings.device == "auto"
    assert "not a PyTorch checkpoint" in app.model_error


def test_typed_text_that_names_a_catalogue_entry_says_what_it_matched(app_model):
    app = app_model
    app.set_free_text_target("Melanoma")
    assert app.target_choice.spec == "class:melanoma" and app.text_match == "matched class: Melanoma"
    app.set_free_text_target("a dark spot shaped like a duck")
    assert app.target_choice.kind == "text" and app.text_match == ""
    app.set_low_confidence(1.7)
    assert app.settings.low_confidence == 1.0
