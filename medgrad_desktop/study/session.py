"""One reader's reading session: the app's only door to a study (no Qt here, so the rules hold whatever
drives it: the app's reading mode, a test, a script).

The rules it keeps:
- Blinding starts here: a case of an arm that shows nothing carries no AI answer at all (`CaseView.ai`
  is None), so no window, menu or tooltip can show what it never received.
- Every answer is committed to the store the moment it is given; a reader who stops (or whose process
  is killed) resumes at the first case of the session not yet answered.
- The washout: a new session opens only `washout_days` after the reader finished the previous one; an
  earlier attempt is refused with the date and time it opens. A session already started is resumed
  whatever the time (the washout separates sessions, not the halves of one).
- Going back is allowed only when the study says so; re-answering a case replaces its answer.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from medgrad_desktop.core.prompts import load_catalogue
from medgrad_desktop.store import ProjectStore
from medgrad_desktop.store.study_tables import StudyTables
from medgrad_desktop.study.errors import (
    InvalidAnswer,
    StudyError,
    StudyFinished,
    UnknownReader,
    UnknownStudy,
    WashoutNotOver,
)
from medgrad_desktop.study.spec import CONFIDENCE_RANGE, MAP_HELPED_RANGE, TRUST_RANGE, Arm, StudySpec

__all__ = [
    "AIView",
    "Answer",
    "CaseView",
    "ReadingSession",
    "StudyError",
    "StudyFinished",
    "UnknownReader",
    "UnknownStudy",
    "WashoutNotOver",
    "InvalidAnswer",
]


@dataclass(frozen=True)
class AIView:
    class_id: str
    display_name: str
    probability: float


@dataclass(frozen=True)
class Answer:
    diagnosis: str  # catalogue class id, or a coarse option id
    confidence: int | None = None  # 1-10
    trust: int | None = None  # 1-10, arms that show the AI
    map_helped: int | None = None  # 1-5, arms that show a map
    comment: str = ""


@dataclass(frozen=True)
class CaseView:
    case_id: str
    path: Path
    arm: Arm
    position: int  # 1-based within the session
    total: int
    ai: AIView | None  # None unless the arm shows the AI
    previous: Answer | None = None  # the answer already given here (after going back), to pre-fill the form


def _utc(moment: datetime | None) -> datetime:
    if moment is None:
        return datetime.now(UTC)
    return moment.astimezone(UTC)  # a naive time is taken as local time


def _when(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d at %H:%M UTC")


def _days(value: float) -> str:
    return f"{value:g}-day"


class ReadingSession:
    def __init__(self, store: ProjectStore, spec: StudySpec, reader: str, session: int):
        self._tables = StudyTables(store)
        self.spec = spec
        self.reader = reader
        self.session = session
        self.sessions = len(spec.arms)
        self._plan = self._tables.plan(spec.id, reader, session)
        self._cases = self._tables.cases(spec.id)
        self._answers = {a["position"]: a for a in self._tables.answers(spec.id, reader, session)}
        self._cursor: int | None = None  # a position gone back to
        self._names = {c.id: c.display_name for c in load_catalogue().classes}

    @classmethod
    def open(
        cls, store: ProjectStore, study_id: str, reader: str, *, now: datetime | None = None
    ) -> ReadingSession:
        """The reader's current session: the one started and not finished, else the next one once the
        washout after the previous one is over."""
        tables = StudyTables(store)
        row = tables.study(study_id)
        if row is None:
            raise UnknownStudy(
                f"There is no study '{study_id}' in the project store ({store.path}); "
                "create it first with `medgrad study create STUDY-FILE`."
            )
        spec = StudySpec.from_json(row.spec)
        who = spec.reader(reader)
        if who is None:
            raise UnknownReader(
                f"'{reader}' is not a reader of the study '{spec.name}'; enter the reader code you were given."
            )
        opened = tables.sessions(spec.id, who.code)
        n = len(spec.arms)
        nxt = next((s for s in range(1, n + 1) if s not in opened or opened[s][1] is None), None)
        if nxt is None:
            raise StudyFinished(
                f"Reader {who.code} has finished all {n} sessions of the study '{spec.name}'. Thank you."
            )
        moment = _utc(now)
        if nxt not in opened and nxt > 1:
            finished = datetime.fromisoformat(opened[nxt - 1][1])
            opens = finished + timedelta(days=spec.design.washout_days)
            if moment < opens:
                exc = WashoutNotOver(
                    f"Session {nxt} of {n} opens on {_when(opens)}: the study asks for a "
                    f"{_days(spec.design.washout_days)} washout after session {nxt - 1}, which you finished "
                    f"on {_when(finished)}. Please come back then."
                )
                exc.opens = opens  # type: ignore[attr-defined]
                raise exc
        tables.start_session(spec.id, who.code, nxt, moment.isoformat(timespec="milliseconds"))
        return cls(store, spec, who.code, nxt)

    # ------------------------------------------------------------------ where the reader is
    @property
    def total(self) -> int:
        return len(self._plan)

    def progress(self) -> tuple[int, int]:
        """(answered, total) in this session."""
        return len(self._answers), self.total

    @property
    def finished(self) -> bool:
        return len(self._answers) >= self.total

    def _position(self) -> int | None:
        if self._cursor is not None:
            return self._cursor
        return next((p["position"] for p in self._plan if p["position"] not in self._answers), None)

    def current(self) -> CaseView | None:
        """The case to read now, None when the session is done."""
        pos = self._position()
        if pos is None:
            return None
        p = self._plan[pos - 1]
        case = self._cases[p["case_id"]]
        arm = self.spec.arm(p["arm"])
        ai = None
        if arm.shows_ai:
            cid = case["ai_class"]
            ai = AIView(cid, self._names.get(cid, cid.replace("_", " ")), float(case["ai_probability"]))
        given = self._answers.get(pos)
        previous = (
            Answer(
                given["answer"], given["confidence"], given["trust"], given["map_helped"], given["comment"]
            )
            if given
            else None
        )
        return CaseView(p["case_id"], Path(case["path"]), arm, pos, self.total, ai, previous)

    # ------------------------------------------------------------------ answering
    def answer(self, answer: Answer, seconds: float) -> None:
        """Check the answer against the study's questions, commit it, and move to the next case; the last
        answer of the session marks the session finished (the washout counts from then)."""
        pos = self._position()
        if pos is None:
            raise StudyError("This session is finished: there is no case left to answer.")
        arm = self.spec.arm(self._plan[pos - 1]["arm"])
        self._check(answer, arm, seconds)
        row = {
            "reader": self.reader,
            "session": self.session,
            "position": pos,
            "answer": answer.diagnosis,
            "confidence": answer.confidence,
            "trust": answer.trust,
            "map_helped": answer.map_helped,
            "comment": answer.comment.strip(),
            "seconds": float(seconds),
            "answered": None,
        }
        self._tables.put_answer(self.spec.id, row)
        self._answers[pos] = row
        self._cursor = None

    def back(self) -> CaseView:
        """The case before the current one, to answer again (only when the study allows going back)."""
        if not self.spec.may_go_back:
            raise StudyError("This study does not allow going back to an earlier case.")
        pos = self._position()
        pos = self.total + 1 if pos is None else pos
        if pos <= 1:
            raise StudyError("This is the first case of the session: there is no case before it.")
        self._cursor = pos - 1
        view = self.current()
        assert view is not None
        return view

    def _check(self, a: Answer, arm: Arm, seconds: float) -> None:
        q = self.spec.questions
        options = [o for o, _ in q.diagnosis_options()]
        if a.diagnosis not in options:
            raise InvalidAnswer(f"'{a.diagnosis}' is not one of the diagnoses offered: {', '.join(options)}")
        _scale("confidence", a.confidence, q.confidence, CONFIDENCE_RANGE)
        _scale("trust in the AI", a.trust, q.asks_trust(arm), TRUST_RANGE)
        _scale("'the map helped me'", a.map_helped, q.asks_map_helped(arm), MAP_HELPED_RANGE)
        if a.comment.strip() and not q.comment:
            raise InvalidAnswer("This study asks for no comment; leave the comment empty.")
        if not (isinstance(seconds, int | float) and math.isfinite(seconds) and seconds >= 0):
            raise InvalidAnswer(f"the time on the case must be a number of seconds >= 0, not {seconds!r}")


def _scale(what: str, value: int | None, asked: bool, bounds: tuple[int, int]) -> None:
    lo, hi = bounds
    if not asked:
        if value is not None:
            raise InvalidAnswer(f"This case does not ask for {what}; leave it empty.")
        return
    if value is None or isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
        raise InvalidAnswer(f"Give {what} as a whole number from {lo} to {hi}.")
