"""Review by keyboard, driven through the real window with key events only: A accepts, D opens the
override chooser (type to filter, Enter), N writes a note (Enter saves, Esc leaves), Ctrl+Z and
Ctrl+Shift+Z act on review decisions outside text boxes, and the grid moves on to the next image not yet
reviewed. Keys go to whichever widget has the focus, as a keyboard's would."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QMessageBox

from medgrad_desktop.core.imageio import list_images
from medgrad_desktop.resources_path import demo_dir
from medgrad_desktop.testing.sample_images import write_sample_folder
from medgrad_desktop.ui.main_window import MainWindow

WAIT = 60_000
CTRL, SHIFT = Qt.KeyboardModifier.ControlModifier, Qt.KeyboardModifier.ShiftModifier


@pytest.fixture
def demo_folder(tmp_path) -> Path:
    """A copy of the 24 demo images (drawn images when the demo folder is absent)."""
    out = tmp_path / "demo"
    demo = list_images(demo_dir())
    if demo:
        out.mkdir()
        for p in demo:
            (out / p.name).write_bytes(p.read_bytes())
    else:
        write_sample_folder(out, 24, size=(160, 120))
    return out


def press(qtbot, key: Qt.Key, modifier: Qt.KeyboardModifier = Qt.KeyboardModifier.NoModifier) -> None:
    """One key press where the keyboard's focus is."""
    target = QApplication.focusWidget()
    assert target is not None, "no widget has the keyboard focus"
    qtbot.keyClick(target, key, modifier)


def type_text(qtbot, text: str) -> None:
    qtbot.keyClicks(QApplication.focusWidget(), text)


def ready(qtbot, win: MainWindow, folder: Path) -> None:
    assert win.app.open_folder(folder)
    qtbot.waitUntil(lambda: win.app.entries and all(e.done for e in win.app.entries), timeout=WAIT)
    qtbot.waitUntil(lambda: not win.app.predictions.running, timeout=WAIT)
    win.browser.grid.setFocus()
    qtbot.waitUntil(lambda: QApplication.focusWidget() is win.browser.grid, timeout=5000)


def decisions(win: MainWindow) -> dict[str, str]:
    return {
        e.sha256: r.decision
        for e in win.app.entries
        if (r := win.app.review_store.get(e.sha256)) is not None and r.decision != "pending"
    }


def override_by_typing(qtbot, win: MainWindow) -> str:
    """D, type a class other than the predicted one, Enter: the class settled on."""
    pred = win.app.current_entry.prediction.predicted_id
    other_id, other_name = next((cid, name) for cid, name in win.panel.classes() if cid != pred)
    press(qtbot, Qt.Key.Key_D)
    chooser = win.review_keys.chooser
    assert chooser is not None and chooser.isVisible()
    qtbot.waitUntil(lambda: QApplication.focusWidget() is chooser.filter_edit, timeout=5000)
    type_text(qtbot, other_name.lower())
    ids = chooser.visible_ids()
    assert other_id in ids and len(ids) < len(win.panel.classes())
    for _ in range(ids.index(other_id)):
        press(qtbot, Qt.Key.Key_Down)
    press(qtbot, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: win.review_keys.chooser is None, timeout=5000)
    qtbot.waitUntil(lambda: QApplication.focusWidget() is win.browser.grid, timeout=5000)
    return other_id


def test_keyboard_only_review_of_the_24_demo_images(qtbot, make_window, demo_folder, reviewer_prompt):
    reviewer_prompt.answer = "Dr Keys"
    win = make_window()
    ready(qtbot, win, demo_folder)
    n = len(win.app.entries)
    assert n == 24
    assert win.app.settings.advance_after_review  # on by default
    seen = []
    for i in range(n):
        e = win.app.current_entry
        assert e is not None and e.sha256 not in decisions(win), f"image {i} was already reviewed"
        seen.append(e.sha256)
        if i % 4 == 1:
            chosen = override_by_typing(qtbot, win)
            rec = win.app.review_store.get(e.sha256)
            assert rec.decision == "overridden" and rec.final_class == chosen
        elif i % 4 == 2:
            press(qtbot, Qt.Key.Key_N)
            assert QApplication.focusWidget() is win.panel.note_edit
            type_text(qtbot, f"note {i}")
            press(qtbot, Qt.Key.Key_Return)  # saves, and gives the keys back to the grid
            assert QApplication.focusWidget() is win.browser.grid
            assert win.app.review_store.get(e.sha256).note == f"note {i}"
            assert win.app.current_entry is e  # a note is no decision: the grid stays
            press(qtbot, Qt.Key.Key_A)
        else:
            press(qtbot, Qt.Key.Key_A)
            assert win.app.review_store.get(e.sha256).decision == "accepted"
        if i < n - 1:
            assert win.app.current_entry is not e  # moved on to the next unreviewed image
    assert len(set(seen)) == n
    final = decisions(win)
    assert len(final) == 24 and set(final) == {e.sha256 for e in win.app.entries}
    assert sum(d == "overridden" for d in final.values()) == 6
    assert "Every image shown is reviewed" in win.statusBar().currentMessage()
    # the name was asked once, at the first decision, and every decision carries it
    assert reviewer_prompt.asked == 1
    assert {r.reviewer for r in win.app.review_store.records.values()} == {"Dr Keys"}
    # the decisions are in the folder's store on disk, as a new window sees them
    win.close()
    again = make_window()
    ready(qtbot, again, demo_folder)
    assert len(decisions(again)) == 24


def test_undo_and_redo_act_on_decisions_outside_text_boxes(qtbot, make_window, demo_folder):
    win = make_window()
    ready(qtbot, win, demo_folder)
    first = win.app.current_entry
    press(qtbot, Qt.Key.Key_A)
    assert win.app.current_entry is not first
    press(qtbot, Qt.Key.Key_Z, CTRL)  # from the grid: undoes the decision and shows its image again
    assert win.app.review_store.get(first.sha256) is None and win.app.current_entry is first
    press(qtbot, Qt.Key.Key_Z, CTRL | SHIFT)
    assert win.app.review_store.get(first.sha256).decision == "accepted"
    # inside the note box Ctrl+Z undoes typing, not the review; Esc leaves without saving
    win.app.select(win.app.entries.index(first))
    press(qtbot, Qt.Key.Key_N)
    type_text(qtbot, "abc")
    press(qtbot, Qt.Key.Key_Z, CTRL)
    assert win.panel.note_edit.text() != "abc"
    assert win.app.review_store.get(first.sha256).decision == "accepted"
    type_text(qtbot, "unsaved")
    press(qtbot, Qt.Key.Key_Escape)
    assert QApplication.focusWidget() is win.browser.grid
    assert win.panel.note_edit.text() == "" and win.app.review_store.get(first.sha256).note == ""
    # letters typed in a text box never review: the free-text box takes its own A and D
    win.target_picker.free_text.setFocus()
    type_text(qtbot, "ad")
    second = win.app.current_entry
    assert win.app.review_store.get(second.sha256).decision == "accepted"  # unchanged: still the first's
    assert len(decisions(win)) == 1


def test_override_chooser_filters_and_esc_cancels(qtbot, make_window, demo_folder):
    win = make_window()
    ready(qtbot, win, demo_folder)
    e = win.app.current_entry
    press(qtbot, Qt.Key.Key_D)
    chooser = win.review_keys.chooser
    qtbot.waitUntil(lambda: QApplication.focusWidget() is chooser.filter_edit, timeout=5000)
    type_text(qtbot, "zzzz-no-such-class")
    assert chooser.visible_ids() == []
    press(qtbot, Qt.Key.Key_Return)  # nothing to choose: stays open
    assert chooser.isVisible() and win.app.review_store.get(e.sha256) is None
    press(qtbot, Qt.Key.Key_Escape)
    qtbot.waitUntil(lambda: win.review_keys.chooser is None, timeout=5000)
    qtbot.waitUntil(lambda: QApplication.focusWidget() is win.browser.grid, timeout=5000)
    assert win.app.review_store.get(e.sha256) is None and win.app.current_entry is e
    # choosing the predicted class is an accept
    press(qtbot, Qt.Key.Key_D)
    qtbot.waitUntil(lambda: QApplication.focusWidget() is win.review_keys.chooser.filter_edit, timeout=5000)
    pred_name = dict(win.panel.classes())[e.prediction.predicted_id]
    type_text(qtbot, pred_name.lower())
    ids = win.review_keys.chooser.visible_ids()
    for _ in range(ids.index(e.prediction.predicted_id)):
        press(qtbot, Qt.Key.Key_Down)
    press(qtbot, Qt.Key.Key_Return)
    assert win.app.review_store.get(e.sha256).decision == "accepted"


def test_advance_is_a_setting(qtbot, make_window, demo_folder, app_settings):
    app_settings.advance_after_review = False
    win = make_window()
    ready(qtbot, win, demo_folder)
    assert not win.menus.advance_action.isChecked()
    e = win.app.current_entry
    press(qtbot, Qt.Key.Key_A)
    assert win.app.current_entry is e and win.app.review_store.get(e.sha256).decision == "accepted"
    win.menus.advance_action.setChecked(True)
    assert app_settings.advance_after_review
    press(qtbot, Qt.Key.Key_Right)
    press(qtbot, Qt.Key.Key_A)
    # skips the first image, already reviewed, after wrapping round: lands on the third
    assert win.app.current_entry is win.app.entries[2]


def test_keys_without_an_analysed_image_say_so(qtbot, make_window, tmp_path):
    win = make_window()
    empty = tmp_path / "empty"
    empty.mkdir()
    win.app.open_folder(empty)
    win.browser.grid.setFocus()
    qtbot.waitUntil(lambda: QApplication.focusWidget() is win.browser.grid, timeout=5000)
    for key in (Qt.Key.Key_A, Qt.Key.Key_D, Qt.Key.Key_N):
        press(qtbot, key)
        assert "Select an analysed image first" in win.statusBar().currentMessage()
    assert win.review_keys.chooser is None


def test_shortcuts_are_listed_in_help_and_tooltips(qtbot, make_window):
    win = make_window()
    win.menus.show_shortcuts()
    text = " ".join(b.text() for b in win.findChildren(QMessageBox))
    for key in ("<b>A</b>", "<b>D</b>", "<b>N</b>", "Ctrl+Z / Ctrl+Shift+Z", "Ctrl+B", "Ctrl+R"):
        assert key in text
    for b in win.findChildren(QMessageBox):
        b.close()
    assert "(A)" in win.panel.accept_button.toolTip() and "(D" in win.panel.override_button.toolTip()
    assert "N " in win.panel.note_edit.toolTip() or "(N" in win.panel.note_edit.toolTip()
    assert "Ctrl+Z" in win.menus.undo_action.toolTip() and "Ctrl+Shift+Z" in win.menus.redo_action.toolTip()
    assert "(O)" in win.menus.overlay_action.toolTip() and "(F)" in win.menus.fit_action.toolTip()
