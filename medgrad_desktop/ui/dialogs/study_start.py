"""Study > Start reading: choose a study created in the project store and who is reading, then open the
reader's next session.

The reader gives their code (or their name, where the study file lists names). Whatever stops the
session from opening (the washout is not over, every session is done, an unknown code) is said in a
message box in the study's own words (`study.errors`), and the dialog stays open for another choice. A
session that shows maps needs the model the study was created with loaded in the app, since the map
explains that model's frozen answer; another model is refused with the way out.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QMessageBox,
    QVBoxLayout,
    QWidget,
)

from medgrad_desktop.store import ProjectStore
from medgrad_desktop.store.study_tables import StudyTables
from medgrad_desktop.study.errors import StudyError
from medgrad_desktop.study.session import ReadingSession
from medgrad_desktop.study.spec import StudySpec


def stored_studies(store: ProjectStore) -> list[tuple[StudySpec, str]]:
    """Every study created in the store, oldest first, with the SHA-256 of the model it froze."""
    tables = StudyTables(store)
    out = []
    for sid in tables.study_ids():
        row = tables.study(sid)
        if row is not None:
            out.append((StudySpec.from_json(row.spec), row.model_sha256))
    return out


def model_mismatch(session: ReadingSession, study_model: str, loaded_model: str | None) -> str:
    """Why this session cannot be read with the model loaded in the app ("" when it can): a session
    that shows maps needs the study's model, whose answers were frozen."""
    case = session.current()
    if case is None or not case.arm.shows_map or loaded_model == study_model:
        return ""
    have = f"the app has {loaded_model[:12]}… loaded" if loaded_model else "no model is loaded yet"
    return (
        f"This session shows maps of the model the study was created with (SHA-256 {study_model[:12]}…); "
        f"{have}. Choose that model's weights in File > Preferences, then start reading again."
    )


class StudyStartDialog(QDialog):
    """`opened(session)` fires when a session opened; the dialog then closes."""

    opened = Signal(object)

    def __init__(self, store: ProjectStore, loaded_model: str | None, parent: QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle("Start reading")
        self.store, self.loaded_model = store, loaded_model
        self.studies = stored_studies(store)
        self.session: ReadingSession | None = None
        self.message_box: QMessageBox | None = None  # the last refusal shown (tests read it)
        col = QVBoxLayout(self)
        form = QFormLayout()
        self.study_combo = QComboBox()
        for spec, _model in self.studies:
            self.study_combo.addItem(f"{spec.name} ({spec.id})", spec.id)
        form.addRow("&Study", self.study_combo)
        self.reader_combo = QComboBox()
        self.reader_combo.setEditable(True)  # a code from the list, or the reader's name where listed
        self.reader_combo.setInsertPolicy(QComboBox.InsertPolicy.NoInsert)
        self.reader_combo.lineEdit().setPlaceholderText("your reader code, or your name")
        form.addRow("&Reader", self.reader_combo)
        col.addLayout(form)
        self.about = QLabel()
        self.about.setWordWrap(True)
        self.about.setStyleSheet("color:#555;")
        col.addWidget(self.about)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        self.start_button = self.buttons.addButton("Start reading", QDialogButtonBox.ButtonRole.AcceptRole)
        self.buttons.accepted.connect(self.start)
        self.buttons.rejected.connect(self.reject)
        col.addWidget(self.buttons)
        self.study_combo.currentIndexChanged.connect(self._on_study)
        self._on_study()
        self.reader_combo.setFocus(Qt.FocusReason.OtherFocusReason)

    def _spec(self) -> tuple[StudySpec, str] | None:
        i = self.study_combo.currentIndex()
        return self.studies[i] if 0 <= i < len(self.studies) else None

    def _on_study(self) -> None:
        chosen = self._spec()
        self.reader_combo.clear()
        self.start_button.setEnabled(chosen is not None)
        if chosen is None:
            self.about.setText(
                "No study in this project store yet. Create one first: medgrad study create STUDY.toml"
            )
            return
        spec, _model = chosen
        self.reader_combo.addItems(spec.reader_codes)
        self.reader_combo.setCurrentIndex(-1)
        self.about.setText(
            f"{len(spec.arms)} sessions, {len(spec.readers)} readers. Your answers are saved as you give "
            "them; you can stop at any time and go on later where you stopped."
        )

    def start(self) -> ReadingSession | None:
        """Open the reader's next session; a refusal is shown in a message box and the dialog stays."""
        chosen = self._spec()
        reader = self.reader_combo.currentText().strip()
        if chosen is None:
            return None
        if not reader:
            self._refuse("Start reading", "Choose your reader code (or type your name).")
            return None
        spec, study_model = chosen
        try:
            session = ReadingSession.open(self.store, spec.id, reader)
        except StudyError as exc:
            self._refuse("Cannot start reading", str(exc))
            return None
        why = model_mismatch(session, study_model, self.loaded_model)
        if why:
            self._refuse("Another model is loaded", why)
            return None
        self.session = session
        self.accept()
        self.opened.emit(session)
        return session

    def _refuse(self, title: str, text: str) -> None:
        box = QMessageBox(QMessageBox.Icon.Information, title, text, QMessageBox.StandardButton.Ok, self)
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.open()  # window-modal over the dialog, without blocking
        self.message_box = box
