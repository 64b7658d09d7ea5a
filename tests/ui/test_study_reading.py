"""The app's reading mode for a reader study (Study > Start reading), on the demo model and three demo
images: the blinding of the no-AI and AI arms (widget tree, actions, tooltips, window title), answers
given by keys alone committed to the store, resuming after the window closed, the washout's message,
and the map arm's map with its stability figure; the active-time rule with a fake clock."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

import cv2
import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QAction
from PySide6.QtTest import QTest
from PySide6.QtWidgets import (
    QAbstractButton,
    QApplication,
    QLabel,
    QLineEdit,
    QMenuBar,
    QMessageBox,
    QWidget,
)

from medgrad_desktop.core.prediction import OOD_FLAG_TEXT
from medgrad_desktop.core.prompts import load_catalogue
from medgrad_desktop.data.non_dermoscopy import draw
from medgrad_desktop.resources_path import demo_dir
from medgrad_desktop.store import ProjectStore
from medgrad_desktop.store.study_tables import StudyTables
from medgrad_desktop.study.create import create_study
from medgrad_desktop.study.session import ReadingSession, when_text
from medgrad_desktop.study.spec import load_spec
from medgrad_desktop.ui.dialogs.followup_view import open_followup
from medgrad_desktop.ui.dialogs.reading_window import UNLIKE_TRAINING_TEXT, ReadingWindow
from medgrad_desktop.ui.dialogs.study_start import StudyStartDialog
from medgrad_desktop.ui.state.active_time import ActiveTimer
from medgrad_desktop.ui.state.answer_draft import CONFIDENCE, MAP_HELPED, AnswerDraft, Option, matches
from medgrad_desktop.ui.widgets.color_bar import ColorBar
from medgrad_desktop.ui.widgets.prediction_panel import WARNING_STYLE
from medgrad_desktop.ui.work.worker import ModelWorker

WAIT = 60_000
N_CASES = 3
ARMS = {
    "no-ai": 'shows = "nothing"',
    "ai": 'shows = "prediction"',
    "ai-map": 'shows = "map"\nmethod = "medgrad"',
}
# words that would tell a reader of the no-AI arm what the AI thinks, or that there is an AI at all (its
# out-of-distribution warning included)
AI_WORDS = re.compile(
    r"\bAI\b|probab|predict|suggest|\bmap\b|stabilit|grad-cam|e-clip|medgrad|\d\s*%|unlike|trained|unreliable",
    re.I,
)


class FakeClock:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


def write_study(
    folder,
    arms: list[str],
    *,
    washout: float = 14,
    study_id: str = "t-study",
    back: bool = False,
    images=None,
) -> object:
    """A study file over the first `N_CASES` demo images (or their copies in `images`), two readers, the
    given arms, no repeats."""
    arm_tables = "\n".join(f'[[arms]]\nid = "{a}"\n{ARMS[a]}\n' for a in arms)
    text = f"""
[study]
id = "{study_id}"
name = "Test study"
seed = 11
readers = ["R01", "R02"]
may_go_back = {str(back).lower()}

[cases]
folder = "{(images or demo_dir()).as_posix()}"
truth = "{(demo_dir() / "demo_labels.csv").as_posix()}"
limit = {N_CASES}

{arm_tables}
[design]
washout_days = {washout}
repeat_share = 0
"""
    path = folder / f"{study_id}.toml"
    path.write_text(text)
    return load_spec(path)


@pytest.fixture
def store() -> ProjectStore:
    return ProjectStore.shared()


@pytest.fixture
def worker(qtbot, demo_model):
    w = ModelWorker()
    w.start()
    w.load(lambda: demo_model)
    qtbot.waitUntil(lambda: w.model is not None, timeout=WAIT)
    yield w
    w.stop()


def created_study(tmp_path, store, model, arms: list[str], **kw) -> object:
    """`write_study(tmp_path, arms, **kw)`, created in `store` with `model`'s frozen answers."""
    spec = write_study(tmp_path, arms, **kw)
    create_study(spec, model, store)
    return spec


def open_window(
    qtbot, store, worker, study_id="t-study", reader="R01", clock=None, now=datetime.now
) -> ReadingWindow:
    win = ReadingWindow(ReadingSession.open(store, study_id, reader), worker, clock=clock, now=now)
    qtbot.addWidget(win)
    win.resize(1200, 800)
    win.show()
    win.activateWindow()
    qtbot.waitExposed(win)
    qtbot.waitUntil(lambda: win.ready, timeout=WAIT)
    return win


def every_text(root: QWidget) -> list[str]:
    """Everything a reader could read in the window, shown or hidden: texts, placeholders, tooltips,
    status tips, accessible names, titles, and every action's text and tooltip (menus included)."""
    out = [root.windowTitle()]
    widgets = [root, *root.findChildren(QWidget)]
    for w in widgets:
        out += [w.toolTip(), w.statusTip(), w.whatsThis(), w.accessibleName(), w.accessibleDescription()]
        if isinstance(w, QLabel | QAbstractButton):
            out.append(w.text())
        if isinstance(w, QLineEdit):
            out += [w.text(), w.placeholderText()]
        for a in w.actions():
            out += [a.text(), a.toolTip(), a.statusTip()]
    for a in root.findChildren(QAction):
        out += [a.text(), a.toolTip(), a.statusTip()]
    return [t for t in out if t]


def list_texts(win: ReadingWindow) -> list[str]:
    lw = win.form.choices
    return [lw.item(i).text() for i in range(lw.count())]


def answer_by_keys(qtbot, win: ReadingWindow, search: str, digits: list[str], comment: str = "") -> None:
    """Answer the current case with keys only, each sent to the widget that has the focus."""
    qtbot.waitUntil(lambda: win.ready, timeout=WAIT)
    assert QApplication.focusWidget() is win.form.filter_edit
    QTest.keyClicks(QApplication.focusWidget(), search)
    QTest.keyClick(QApplication.focusWidget(), Qt.Key.Key_Return)
    for d in digits:
        QTest.keyClick(QApplication.focusWidget(), d)
    if comment:
        assert QApplication.focusWidget() is win.form.comment_edit
        QTest.keyClicks(win.form.comment_edit, comment)
    QTest.keyClick(QApplication.focusWidget(), Qt.Key.Key_Return)


# ---------------------------------------------------------------------- the Qt-free parts
@pytest.fixture(scope="module")
def study_model():
    """A second instance of the demo model for `create_study` in tests whose window has a worker: one
    model object is never used by two threads at once (its hooks are per object), as in the app, where a
    study is frozen by `medgrad study create`, not by the window."""
    from medgrad_desktop.core.model import load_model

    return load_model(None, device="cpu")


def test_active_time_pauses_while_the_window_is_not_in_use():
    clock = FakeClock()
    t = ActiveTimer(clock)
    t.restart(active=False)
    clock.t += 30  # the window was not in front: nothing counts
    assert t.seconds == 0 and not t.running
    t.set_active(True)
    clock.t += 4
    t.set_active(True)  # repeated: no change
    clock.t += 1
    assert t.seconds == pytest.approx(5)
    t.set_active(False)
    clock.t += 600  # a phone call
    t.set_active(False)
    assert t.seconds == pytest.approx(5)
    t.set_active(True)
    clock.t += 2.5
    assert t.seconds == pytest.approx(7.5)
    t.restart(active=True)
    clock.t += 1
    assert t.seconds == pytest.approx(1)


def test_digit_keys_and_the_diagnosis_search():
    assert [CONFIDENCE.value_of_key(k) for k in "1590a"] == [1, 5, 9, 10, None]
    assert [MAP_HELPED.value_of_key(k) for k in "1560"] == [1, 5, None, None]
    mel, blue = Option("melanoma", "Melanoma"), Option("blue_nevus", "Blue nevus")
    assert matches(mel, "mel") and matches(mel, "") and not matches(mel, "nev")
    assert matches(blue, "bl nev") and matches(blue, "nevus") and not matches(blue, "nevus bl x")


def test_questions_follow_the_arm_and_the_options_never_do(tmp_path):
    spec = write_study(tmp_path, ["no-ai", "ai", "ai-map"])
    drafts = {a.id: AnswerDraft(spec.questions, a) for a in spec.arms}
    assert [s.key for s in drafts["no-ai"].scales] == ["confidence"]
    assert [s.key for s in drafts["ai"].scales] == ["confidence", "trust"]
    assert [s.key for s in drafts["ai-map"].scales] == ["confidence", "trust", "map_helped"]
    classes = [(c.id, c.display_name) for c in load_catalogue().classes]
    for d in drafts.values():  # the same diagnoses in the same (catalogue) order in every arm
        assert [(o.id, o.label) for o in d.options] == classes
    d = drafts["ai"]
    assert d.missing() == ["diagnosis", "confidence", "trust"]
    d.choose("melanoma")
    d.set_value("confidence", 10)
    assert not d.complete
    d.set_value("trust", 3)
    assert d.answer().diagnosis == "melanoma" and d.answer().trust == 3 and d.answer().map_helped is None


# ---------------------------------------------------------------------- the reading window
def test_the_no_ai_arm_shows_nothing_of_the_ai_and_the_ai_arm_no_map(
    qtbot, tmp_path, store, worker, demo_model
):
    for arm in ("no-ai", "ai"):
        spec = created_study(tmp_path, store, demo_model, [arm], study_id=f"blind-{arm}")
        win = open_window(qtbot, store, worker, spec.id)
        case = win.case
        texts = every_text(win)
        assert win.findChildren(QMenuBar) == []
        assert not win.viewer.overlay_item.isVisible() and win.viewer.map_values is None
        assert not any(c.isVisible() for c in win.findChildren(ColorBar))
        # the diagnosis list is the catalogue in its own order, whatever the AI said
        assert list_texts(win) == [c.display_name for c in load_catalogue().classes]
        if arm == "no-ai":
            assert case.ai is None  # nothing to show was ever given to the window
            leaks = [t for t in texts if AI_WORDS.search(t)]
            assert leaks == [], leaks
            assert win.ai_box is None and win.colorbar is None
        else:
            row = StudyTables(store).cases(spec.id)[case.case_id]
            name = case.ai.display_name
            assert case.ai.class_id == row["ai_class"]
            assert win.ai_label.isVisible()
            assert name in win.ai_label.text() and f"{row['ai_probability']:.0%}" in win.ai_label.text()
            # the AI's class appears once outside the diagnosis list: in the AI's own line
            assert [t for t in texts if name in t] == [win.ai_label.text()]
            no_map = [t for t in texts if re.search(r"\bmap\b|stabilit|grad-cam|e-clip|medgrad", t, re.I)]
            assert no_map == [], no_map
            assert win.colorbar is None
        win.close()


def test_the_ai_arm_says_what_the_app_says_of_an_image_unlike_the_training_images_and_the_no_ai_arm_never(
    qtbot, tmp_path, store, worker, study_model, demo_images
):
    """The demo model flags a noise image: in the AI arm its case shows the prediction panel's warning (its
    words, its style) and the other cases do not; in the no-AI arm no case says a word of it."""
    images = demo_images(100)
    cv2.imwrite(str(images / "demo_02.png"), draw("noise", 77, 0)[..., ::-1])  # the 2nd of the 3 cases
    for arm in ("ai", "no-ai"):
        spec = created_study(tmp_path, store, study_model, [arm], study_id=f"unlike-{arm}", images=images)
        frozen = StudyTables(store).cases(spec.id)
        assert sorted(row["ai_unlike_training"] for row in frozen.values()) == [0, 0, 1]
        win = open_window(qtbot, store, worker, spec.id)
        for _ in range(N_CASES):
            flagged = bool(frozen[win.case.case_id]["ai_unlike_training"])
            texts = every_text(win)
            if arm == "ai":
                assert win.unlike_label.isVisible() == flagged
                assert [t for t in texts if OOD_FLAG_TEXT in t.lower()] == (
                    [UNLIKE_TRAINING_TEXT] if flagged else []
                )
                assert win.unlike_label.styleSheet() == WARNING_STYLE
                answer_by_keys(qtbot, win, "mel", ["7", "5"])
            else:
                assert win.case.ai is None and win.ai_box is None
                leaks = [t for t in texts if AI_WORDS.search(t)]
                assert leaks == [], leaks
                answer_by_keys(qtbot, win, "mel", ["7"])
        assert win.pages.currentIndex() == 1  # every case was read
        win.close()


def test_the_map_arm_shows_the_map_of_its_method_for_the_ai_class_and_its_stability(
    qtbot, tmp_path, store, worker, demo_model
):
    spec = created_study(tmp_path, store, demo_model, ["ai-map"], study_id="maps")
    win = open_window(qtbot, store, worker, spec.id)
    # ready means the map and its stability are drawn: the form opens only then
    assert win.form.isEnabled()
    assert win.viewer.map_values is not None and win.viewer.overlay_item.isVisible()
    assert win.colorbar.isVisible()
    assert win.case.ai.display_name in win.map_label.text() and "MedGrad E-CLIP" in win.map_label.text()
    assert re.fullmatch(r"Stability: \d\.\d\d · .+", win.stability_label.text()), win.stability_label.text()
    assert "Max-sensitivity" in win.stability_label.toolTip()
    assert [r.scale.key for r in win.form.rows.values()] == ["confidence", "trust", "map_helped"]
    # keys: "vasc" + Enter, confidence 0 (= 10), trust 4, map helped 2, a comment, Enter
    answer_by_keys(qtbot, win, "vasc", ["0", "4", "2"], comment="looked at the border")
    rows = StudyTables(store).answers(spec.id, "R01")
    assert len(rows) == 1
    r = rows[0]
    assert (r["answer"], r["confidence"], r["trust"], r["map_helped"], r["comment"]) == (
        "vascular_lesion",
        10,
        4,
        2,
        "looked at the border",
    )
    win.close()


def test_keys_alone_commit_each_answer_and_a_closed_session_resumes_at_the_next_case(
    qtbot, tmp_path, store, worker, demo_model
):
    spec = created_study(tmp_path, store, demo_model, ["no-ai", "ai"], study_id="keys")
    clock = FakeClock()
    win = open_window(qtbot, store, worker, spec.id, clock=clock)
    arm = win.case.arm.id
    digits = ["7"] if arm == "no-ai" else ["7", "5"]
    clock.t += 12.5
    answer_by_keys(qtbot, win, "mel", digits)
    rows = StudyTables(store).answers(spec.id, "R01")  # committed at once, before the next case
    assert [(r["position"], r["answer"], r["confidence"]) for r in rows] == [(1, "melanoma", 7)]
    assert rows[0]["seconds"] == pytest.approx(12.5)
    assert win.case.position == 2
    win.close()  # the reader stops in the middle of case 2

    skewed = lambda: datetime.now() + timedelta(hours=3)  # noqa: E731 - a window clock 3 hours fast
    again = open_window(qtbot, store, worker, spec.id, clock=clock, now=skewed)
    assert again.case.position == 2 and again.header.text().endswith("case 2 of 3")
    answer_by_keys(qtbot, again, "bas", digits)
    answer_by_keys(qtbot, again, "seb", digits)
    rows = StudyTables(store).answers(spec.id, "R01")
    assert [r["answer"] for r in rows] == ["melanoma", "basal_cell_carcinoma", "seborrheic_keratosis"]
    assert again.pages.currentIndex() == 1  # the finished screen with the next session's date
    assert "Session 1 of 2 finished" in again.finished_label.text()
    # the date is the store's (the committed last answer + the washout), not the window's own clock,
    # in the reader's local time with its offset, as the washout's refusal writes it
    finished = datetime.fromisoformat(StudyTables(store).sessions(spec.id, "R01")[1][1])
    opens = finished + timedelta(days=14)
    assert again.session.next_session_opens() == opens
    assert f"next session opens on <b>{when_text(opens)}</b>" in again.finished_label.text()
    again.close()


def test_the_timer_pauses_while_another_window_is_in_front(qtbot, tmp_path, store, worker, demo_model):
    spec = created_study(tmp_path, store, demo_model, ["no-ai"], study_id="focus")
    clock = FakeClock()
    win = open_window(qtbot, store, worker, spec.id, clock=clock)
    qtbot.waitUntil(win.isActiveWindow, timeout=5000)
    clock.t += 3
    other = QWidget()
    qtbot.addWidget(other)
    other.show()
    other.activateWindow()
    qtbot.waitUntil(lambda: not win.isActiveWindow(), timeout=5000)
    clock.t += 100  # another window in front: not counted
    win.activateWindow()
    qtbot.waitUntil(win.isActiveWindow, timeout=5000)
    clock.t += 2
    answer_by_keys(qtbot, win, "mel", ["5"])
    assert StudyTables(store).answers(spec.id, "R01")[0]["seconds"] == pytest.approx(5)
    win.close()


def test_study_menu_starts_reading_in_place_of_the_main_window_and_the_washout_is_said(
    qtbot, tmp_path, make_window, demo_model, study_model
):
    win = make_window(lambda weights, device: demo_model)
    store = win.app.project.store
    spec = created_study(tmp_path, store, study_model, ["no-ai", "ai"], study_id="menu")
    action = win.menus.start_reading_action
    assert action in win.menus.study_menu.actions()
    action.trigger()
    dlg = next(w for w in QApplication.topLevelWidgets() if isinstance(w, StudyStartDialog) and w.isVisible())
    assert dlg.study_combo.currentData() == spec.id
    dlg.reader_combo.setEditText("r02")  # codes are matched without regard to case
    dlg.start()
    reading = win.menus.reading_window
    assert reading is not None and reading.session.reader == "R02"
    qtbot.waitUntil(lambda: reading.ready, timeout=WAIT)
    assert not win.isVisible()  # no grid, no other case behind the reading window
    for search in ("mel", "bas", "seb"):
        digits = ["8"] if reading.case.arm.id == "no-ai" else ["8", "6"]
        answer_by_keys(qtbot, reading, search, digits)
    assert reading.pages.currentIndex() == 1
    reading.close()
    qtbot.waitUntil(win.isVisible, timeout=5000)  # the main window comes back

    win.menus.start_reading()
    dlg = next(w for w in QApplication.topLevelWidgets() if isinstance(w, StudyStartDialog) and w.isVisible())
    dlg.reader_combo.setEditText("R02")
    assert dlg.start() is None  # the washout is not over
    box = dlg.message_box
    assert isinstance(box, QMessageBox) and box.isVisible()
    finished = StudyTables(store).sessions(spec.id, "R02")[1][1]
    opens = datetime.fromisoformat(finished) + timedelta(days=14)
    assert f"Session 2 of 2 opens on {when_text(opens)}: " in box.text(), box.text()
    box.close()
    dlg.reader_combo.setEditText("R99")
    assert dlg.start() is None and "not a reader" in dlg.message_box.text()
    dlg.message_box.close()
    dlg.reject()


def test_back_only_where_the_study_allows_it_and_a_second_answer_replaces_the_first(
    qtbot, tmp_path, store, worker, demo_model
):
    spec = created_study(tmp_path, store, demo_model, ["no-ai"], study_id="no-back")
    win = open_window(qtbot, store, worker, spec.id)
    assert not win.back_button.isVisibleTo(win)
    win.close()

    spec = created_study(tmp_path, store, demo_model, ["no-ai"], study_id="back", back=True)
    win = open_window(qtbot, store, worker, spec.id)
    assert win.back_button.isVisibleTo(win) and not win.back_button.isEnabled()  # nothing before case 1
    answer_by_keys(qtbot, win, "mel", ["3"], comment="first")
    assert win.back_button.isEnabled()
    win.back_button.click()
    qtbot.waitUntil(lambda: win.ready, timeout=WAIT)
    assert win.case.position == 1
    assert win.form.draft.diagnosis == "melanoma" and win.form.rows["confidence"].value == 3  # filled in
    assert win.form.comment_edit.text() == "first"
    answer_by_keys(qtbot, win, "dermato", ["9"])
    rows = StudyTables(store).answers(spec.id, "R01")
    assert [(r["position"], r["answer"], r["confidence"]) for r in rows] == [(1, "dermatofibroma", 9)]
    assert win.case.position == 2
    win.close()


def test_a_case_whose_image_is_gone_names_the_file_and_takes_no_answer(
    qtbot, tmp_path, store, worker, demo_model, demo_images
):
    images = demo_images(100)  # every demo image: the truth CSV lists them all
    spec = created_study(tmp_path, store, demo_model, ["ai-map"], study_id="gone", images=images)
    session = ReadingSession.open(store, spec.id, "R01")
    gone = session.current().path
    gone.unlink()  # moved or deleted after the study was created
    clock = FakeClock()
    win = ReadingWindow(session, worker, clock=clock)
    qtbot.addWidget(win)
    win.show()
    qtbot.waitUntil(lambda: win.ready or gone.name in win.waiting.text(), timeout=WAIT)
    assert (
        win.waiting.isVisible() and str(gone) in win.waiting.text() and "Stop for now" in win.waiting.text()
    )
    assert not win.ready and not win.form.isEnabled() and not win.timer.running
    QTest.keyClick(win.form.filter_edit, Qt.Key.Key_Return)  # no key answers an image never seen
    assert StudyTables(store).answers(spec.id, "R01") == []
    win.close()
    gone.write_bytes((demo_dir() / gone.name).read_bytes())  # put back: the reader goes on here
    again = open_window(qtbot, store, worker, spec.id)
    assert again.case.position == 1 and again.viewer.image_size is not None
    again.close()


def test_every_window_of_the_app_is_hidden_while_reading_and_comes_back_after(
    qtbot, tmp_path, make_window, demo_model, study_model, demo_images
):
    win = make_window(lambda weights, device: demo_model)
    store = win.app.project.store
    spec = created_study(tmp_path, store, study_model, ["no-ai"], study_id="behind")
    win.app.open_folder(demo_images(2))
    qtbot.waitUntil(lambda: len(win.app.entries) == 2, timeout=WAIT)
    followup = open_followup(win, 0, 1)  # two other images with the AI's predictions and maps
    qtbot.waitExposed(followup)
    reading = win.menus.open_reading(ReadingSession.open(store, spec.id, "R01"))
    qtbot.waitUntil(lambda: reading.ready, timeout=WAIT)
    shown = [
        w for w in QApplication.topLevelWidgets() if w.isVisible() and w.windowType() != Qt.WindowType.ToolTip
    ]
    assert shown == [reading]
    reading.close()
    qtbot.waitUntil(lambda: win.isVisible() and followup.isVisible(), timeout=5000)


def test_another_image_under_a_case_s_path_is_refused_by_name(
    qtbot, tmp_path, store, worker, demo_model, demo_images
):
    """The AI's answer was frozen for the image the study was created with: a different picture saved
    under the same name is not shown beside it, and the screen says which file and what to do."""
    images = demo_images(100)
    spec = created_study(tmp_path, store, demo_model, ["ai"], study_id="swapped", images=images)
    session = ReadingSession.open(store, spec.id, "R01")
    swapped = session.current().path
    other = next(p for p in sorted(images.iterdir()) if p.suffix == ".png" and p != swapped)
    swapped.write_bytes(other.read_bytes())
    win = ReadingWindow(session, worker, clock=FakeClock())
    qtbot.addWidget(win)
    win.show()
    qtbot.waitUntil(lambda: win.ready or swapped.name in win.waiting.text(), timeout=WAIT)
    text = win.waiting.text()
    assert "not the image this study was created with" in text and str(swapped) in text
    assert not win.ready and not win.form.isEnabled() and win.viewer.image_size is None
    win.close()
