"""The reading window of a reader study: one case on screen, the questions beside it.

What a reader sees is what the arm allows and nothing else: no file name, no case pseudonym (a repeated
case must not be recognised by its label), no other case, no menu. In the no-AI arm there is no
prediction, no map and no word about the AI anywhere (window, title, tooltips); the AI arm adds the
AI's class and probability, with the app's warning (its words and style) when the image is unlike the
model's training images, so readers see the AI as the app shows it; the map arm adds the map of the
arm's method for the AI's class, computed by the app's one worker (`work.reading_case.CaseLoader`), with
its stability figure.

The form (`reading_form.ReadingForm`) stays disabled until everything the arm shows is on screen, and
the active time on the case starts then: the time the worker takes to draw a map is not the reader's.
The timer (`state.active_time.ActiveTimer`) pauses while the window is not in front or the application
is not active. Each answer goes to `ReadingSession.answer` at once (one committed transaction), then
the next case comes; closing the window at any point loses nothing but the open case's unanswered
questions, and opening the study again resumes at the next unanswered case.
"""

from __future__ import annotations

import html
from collections.abc import Callable
from datetime import datetime

from PySide6.QtCore import QEvent, Qt, Signal
from PySide6.QtGui import QGuiApplication, QPixmap
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QMessageBox,
    QPushButton,
    QSplitter,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from medgrad_desktop.core.map_evidence import no_evidence_text
from medgrad_desktop.core.method_params import METHOD_NAMES
from medgrad_desktop.core.prediction import OOD_FLAG_TEXT
from medgrad_desktop.study.errors import StudyError
from medgrad_desktop.study.session import when_text
from medgrad_desktop.ui.dialogs.reading_form import ReadingForm
from medgrad_desktop.ui.state.active_time import ActiveTimer
from medgrad_desktop.ui.state.answer_draft import AnswerDraft
from medgrad_desktop.ui.widgets.color_bar import ColorBar
from medgrad_desktop.ui.widgets.image_viewer import ImageViewer, overlay_map
from medgrad_desktop.ui.widgets.prediction_panel import WARNING_STYLE
from medgrad_desktop.ui.work.reading_case import CaseLoader, shows_map
from medgrad_desktop.ui.work.worker import ModelWorker

WINDOW_TITLE = "Reader study"
AI_BOX_STYLE = "QFrame#ai-box { background:#eef4ff; border:1px solid #9db8e8; border-radius:6px; }"
FINISHED_STYLE = "font-size:15px;"
MAP_OPACITY = 0.5
UNLIKE_TRAINING_TEXT = f"⚠ {OOD_FLAG_TEXT[0].upper()}{OOD_FLAG_TEXT[1:]}"  # as the prediction panel says it


def next_session_text(next_opens: datetime | None, now: datetime) -> str:
    """The finished screen's line about the next session ("" after the last session), in the reader's
    local time with its offset from UTC, written as the washout's refusal writes it."""
    if next_opens is None:
        return ""
    if next_opens <= now:
        return "The next session can be started now: Study > Start reading."
    return f"The next session opens on <b>{when_text(next_opens)}</b>."


def missing_image_text(message: str, path) -> str:
    """What the reader reads when the case's image cannot be opened: which file, and what to do."""
    where = str(path).encode("utf-8", "surrogateescape").decode("utf-8", "replace")  # showable by Qt
    return (
        f"<p><b>{html.escape(message)}</b></p><p>This case cannot be read without its image. Your answers "
        "so far are saved. Press <b>Stop for now</b>, put the image back at</p>"
        f"<p><code>{html.escape(where)}</code></p><p>(or ask whoever runs the study to), then start "
        "reading again: you go on at this case.</p>"
    )


class ReadingWindow(QWidget):
    """One reader's session; `closed` fires when the window closes (the main window comes back)."""

    closed = Signal()
    answered = Signal(int, int)  # answered, total in this session, after each committed answer

    def __init__(
        self,
        session,
        worker: ModelWorker,
        parent: QWidget | None = None,
        *,
        clock: Callable[[], float] | None = None,
        now: Callable[[], datetime] = datetime.now,
    ):
        super().__init__(parent, Qt.WindowType.Window)
        self.session, self.worker, self._now = session, worker, now
        self.spec = session.spec
        self.timer = ActiveTimer(clock) if clock is not None else ActiveTimer()
        self.case = None
        self.ready = False  # everything the arm shows is on screen: the form is open, the timer runs
        self._map_pending = self._stability_pending = False
        self.setWindowTitle(WINDOW_TITLE)
        self.loader = CaseLoader(worker, self)
        self.loader.image_ready.connect(self._on_image)
        self.loader.map_ready.connect(self._on_map)
        self.loader.stability_ready.connect(self._on_stability)
        self.loader.failed.connect(self._on_failed)
        self._build()
        QGuiApplication.instance().applicationStateChanged.connect(self._on_application_state)
        self._show_case(session.current())

    # ------------------------------------------------------------------ layout
    def _build(self) -> None:
        outer = QVBoxLayout(self)
        outer.setContentsMargins(8, 8, 8, 8)
        self.pages = QStackedWidget()
        outer.addWidget(self.pages)
        reading = QWidget()
        col = QVBoxLayout(reading)
        col.setContentsMargins(0, 0, 0, 0)
        self.header = QLabel()
        self.header.setStyleSheet("font-size:14px; font-weight:bold;")
        col.addWidget(self.header)
        split = QSplitter(Qt.Orientation.Horizontal)
        split.setChildrenCollapsible(False)
        col.addWidget(split, 1)
        left = QWidget()
        lcol = QVBoxLayout(left)
        lcol.setContentsMargins(0, 0, 0, 0)
        self.left_col = lcol
        # the AI's line, the map's and the colour bar: made at the first case that shows the AI, so a
        # session without the AI holds no such widget at all, not even a hidden one
        self.ai_box: QFrame | None = None
        self.colorbar: ColorBar | None = None
        self.view_row = QHBoxLayout()
        self.viewer = ImageViewer()
        self.viewer.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # Tab stays among the questions
        self.viewer.set_opacity(MAP_OPACITY)
        self.view_row.addWidget(self.viewer, 1)
        lcol.addLayout(self.view_row, 1)
        split.addWidget(left)
        right = QWidget()
        rcol = QVBoxLayout(right)
        rcol.setContentsMargins(8, 0, 0, 0)
        self.waiting = QLabel("Preparing the case…")
        self.waiting.setStyleSheet("color:#555;")
        self.waiting.setWordWrap(True)
        rcol.addWidget(self.waiting)
        self.form = ReadingForm()
        self.form.submitted.connect(self.submit)
        rcol.addWidget(self.form, 1)
        buttons = QHBoxLayout()
        self.back_button = QPushButton("← Previous case")
        self.back_button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.back_button.clicked.connect(self.go_back)
        self.back_button.setVisible(self.spec.may_go_back)
        buttons.addWidget(self.back_button)
        buttons.addStretch(1)
        self.stop_button = QPushButton("Stop for now")
        self.stop_button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.stop_button.setToolTip("Every answer given is saved; the next start resumes at this case")
        self.stop_button.clicked.connect(self.close)
        buttons.addWidget(self.stop_button)
        rcol.addLayout(buttons)
        split.addWidget(right)
        split.setStretchFactor(0, 1)
        split.setSizes([760, 380])
        self.pages.addWidget(reading)
        done = QWidget()
        dcol = QVBoxLayout(done)
        dcol.addStretch(1)
        self.finished_label = QLabel()
        self.finished_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.finished_label.setWordWrap(True)
        self.finished_label.setStyleSheet(FINISHED_STYLE)
        dcol.addWidget(self.finished_label)
        close = QPushButton("Close (Enter)")
        close.clicked.connect(self.close)
        dcol.addWidget(close, 0, Qt.AlignmentFlag.AlignHCenter)
        dcol.addStretch(1)
        self.close_button = close
        self.pages.addWidget(done)

    def _ai_widgets(self, with_map: bool) -> None:
        """The AI's line (and, `with_map`, the map's line, its stability's and the colour bar), made at
        the first case that shows them: a session without the AI holds no such widget at all, not even
        a hidden one, and a session without maps no map widget."""
        if self.ai_box is None:
            box = QFrame()
            box.setObjectName("ai-box")
            box.setStyleSheet(AI_BOX_STYLE)
            QVBoxLayout(box)
            self.ai_label = QLabel()
            self.ai_label.setStyleSheet("font-size:14px;")
            box.layout().addWidget(self.ai_label)
            self.unlike_label = QLabel()
            self.unlike_label.setWordWrap(True)
            self.unlike_label.setStyleSheet(WARNING_STYLE)
            self.unlike_label.setVisible(False)
            box.layout().addWidget(self.unlike_label)
            self.left_col.insertWidget(0, box)
            self.ai_box = box
        if with_map and self.colorbar is None:
            self.map_label = QLabel()
            self.map_label.setWordWrap(True)
            self.stability_label = QLabel()
            self.ai_box.layout().addWidget(self.map_label)
            self.ai_box.layout().addWidget(self.stability_label)
            self.colorbar = ColorBar()
            self.colorbar.setVisible(False)
            self.view_row.addWidget(self.colorbar)

    def _map_lines(self) -> list[QLabel]:
        return [self.map_label, self.stability_label] if self.colorbar is not None else []

    def _show_ai(self, case) -> None:
        """The AI's class and probability (with the out-of-distribution warning when the frozen answer
        carries it), and the map's line, where the case's arm shows them; the widgets an earlier case made
        and this one does not show are hidden and emptied."""
        ai, on = case.ai, shows_map(case)
        if ai is not None:
            self._ai_widgets(with_map=on)
            self.ai_label.setText(
                f"AI suggestion: <b>{ai.display_name}</b> · probability {ai.probability:.0%}"
            )
            self.unlike_label.setText(UNLIKE_TRAINING_TEXT if ai.unlike_training else "")
            self.unlike_label.setVisible(ai.unlike_training)
        elif self.ai_box is not None:
            self.ai_label.setText("")
            self.unlike_label.setText("")
            self.unlike_label.setVisible(False)
        if self.ai_box is not None:
            self.ai_box.setVisible(ai is not None)
        for lab in self._map_lines():
            lab.setText("")
            lab.setToolTip("")
            lab.setVisible(on)
        if self.colorbar is not None:
            self.colorbar.setVisible(False)
        if on:
            method = METHOD_NAMES.get(case.arm.method or "", case.arm.method or "")
            self.map_label.setText(f"Map ({method}): where the AI found evidence for {ai.display_name}")

    # ------------------------------------------------------------------ one case
    def _show_case(self, case) -> None:
        if case is None:
            self._show_finished()
            return
        self.case = case
        self.ready = False
        self.timer.restart(False)
        self.header.setText(
            f"Session {self.session.session} of {self.session.sessions} · case {case.position} of {case.total}"
        )
        self.setWindowTitle(f"{WINDOW_TITLE} · preparing case {case.position} of {case.total}…")
        self.back_button.setEnabled(self.spec.may_go_back and case.position > 1)
        self.viewer.set_pixmap(None)
        self.viewer.clear_map()
        self._show_ai(case)
        self._map_pending = self._stability_pending = shows_map(case)
        self.form.start(AnswerDraft(self.spec.questions, case.arm, case.previous))
        self.form.setEnabled(False)
        self.waiting.setText("Preparing the case…")
        self.waiting.setVisible(True)
        self.pages.setCurrentIndex(0)
        self.loader.load(case)

    def _on_image(self, display) -> None:
        self.viewer.set_pixmap(QPixmap.fromImage(display))
        self._check_ready()

    def _on_map(self, hm, target) -> None:
        self._map_pending = False
        if hm.empty:
            self.viewer.clear_map()
            self.viewer.set_message(no_evidence_text(target.label))
            self._stability_pending = False
        elif self.viewer.image_size is not None:
            self.viewer.set_map(overlay_map(hm, *self.viewer.image_size))
            self.colorbar.setVisible(True)
        self._check_ready()

    def _on_stability(self, text: str, how: str) -> None:
        self.stability_label.setText(text)
        self.stability_label.setToolTip(how)
        if not text.endswith("…"):  # a figure, a failure or no line: not still measuring
            self._stability_pending = False
        self._check_ready()

    def _on_failed(self, message: str) -> None:
        """Without its map the case can still be read, and the screen says the map is missing. Without
        its image it cannot: the form stays closed and the time does not run (an answer to an unseen
        image is no answer), and the screen names the file and what to do."""
        self._map_pending = self._stability_pending = False
        self.viewer.set_message(message)
        if self.viewer.image_size is None and self.case is not None:
            self.waiting.setText(missing_image_text(message, self.case.path))
            self.setWindowTitle(f"{WINDOW_TITLE} · case {self.case.position} cannot be shown")
            return
        self._check_ready(force=True)

    def _check_ready(self, force: bool = False) -> None:
        if self.ready or self.case is None:
            return
        if not force and (self.viewer.image_size is None or self._map_pending or self._stability_pending):
            return
        self.ready = True
        self.setWindowTitle(f"{WINDOW_TITLE} · case {self.case.position} of {self.case.total}")
        self.waiting.setVisible(False)
        self.form.setEnabled(True)
        self.form.filter_edit.setFocus(Qt.FocusReason.OtherFocusReason)
        self.timer.restart(self._is_active())

    # ------------------------------------------------------------------ answers
    def submit(self) -> bool:
        """Commit the form's answer with the active seconds, then show the next case."""
        if not self.ready or self.form.draft is None or not self.form.draft.complete:
            return False
        seconds = self.timer.seconds
        try:
            self.session.answer(self.form.draft.answer(), seconds)
        except StudyError as exc:
            self._warn("Answer not saved", str(exc))
            return False
        answered, total = self.session.progress()
        self.answered.emit(answered, total)
        self._show_case(self.session.current())
        return True

    def go_back(self) -> None:
        if not self.spec.may_go_back:
            return
        try:
            case = self.session.back()
        except StudyError as exc:
            self._warn("Cannot go back", str(exc))
            return
        self._show_case(case)

    def _show_finished(self) -> None:
        self.case = None
        self.ready = False
        self.loader.cancel()
        self.timer.restart(False)
        s = self.session
        if s.session >= s.sessions:
            text = f"Session {s.session} of {s.sessions} finished: you have read every session of this study."
            more = "Thank you."
        else:
            text = f"Session {s.session} of {s.sessions} finished."
            more = next_session_text(self.session.next_session_opens(), self._now().astimezone())
        self.finished_label.setText(f"<p><b>{text}</b></p><p>{more}</p><p>Your answers are saved.</p>")
        self.setWindowTitle(f"{WINDOW_TITLE} · session finished")
        self.pages.setCurrentIndex(1)
        self.close_button.setFocus()

    def _warn(self, title: str, text: str) -> None:
        QMessageBox.warning(self, title, text)

    # ------------------------------------------------------------------ active time
    def _is_active(self) -> bool:
        return (
            self.isVisible()
            and self.isActiveWindow()
            and not self.isMinimized()
            and QGuiApplication.applicationState() == Qt.ApplicationState.ApplicationActive
        )

    def _on_application_state(self, _state) -> None:
        self._update_active()

    def _update_active(self) -> None:
        if self.ready:
            self.timer.set_active(self._is_active())

    def changeEvent(self, event) -> None:  # noqa: N802 - Qt API
        if event.type() in (QEvent.Type.ActivationChange, QEvent.Type.WindowStateChange):
            self._update_active()
        super().changeEvent(event)

    def showEvent(self, event) -> None:  # noqa: N802 - Qt API
        super().showEvent(event)
        self._update_active()

    def hideEvent(self, event) -> None:  # noqa: N802 - Qt API
        self.timer.set_active(False)
        super().hideEvent(event)

    def keyPressEvent(self, event) -> None:  # noqa: N802 - Qt API
        if self.pages.currentIndex() == 1 and event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            self.close()  # the finished screen: Enter closes, as its button says
            return
        super().keyPressEvent(event)

    def closeEvent(self, event) -> None:  # noqa: N802 - Qt API
        self.loader.cancel()
        self.timer.set_active(False)
        super().closeEvent(event)
        self.closed.emit()
