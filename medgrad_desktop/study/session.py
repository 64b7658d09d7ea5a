"""One reader's reading session: the app's only door to a study (no Qt here, so the rules hold whatever
drives it: the app's reading mode, a test, a script).

The rules it keeps:
- Blinding starts here: a case of an arm that shows nothing carries no AI answer at all (`CaseView.ai`
  is None), so no window, menu or tooltip can show what it never received.
- Every answer is committed to the store the moment it is given; a reader who stops (or whose process
  is killed) resumes at the first case of the session not yet answered.
- The washout: a new session opens only `washout_days` after the reader finished the previous one (the
  moment its last answer was committed, as the store holds it); an earlier attempt is refused with the
  date and time it opens. A session already started is resumed whatever the time (the washout separates
  sessions, not the halves of one). `next_session` is that one rule: `open()`, the reading window's
  finished screen and `medgrad study status` all ask it, and `when_text` writes its moments the same way
  everywhere: the local time of the machine showing it, with its offset from UTC.
- Going back is allowed only when the study says so; re-answering a case replaces its answer.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from pathlib import Path

from medgrad_desktop.core.prompts import load_catalogue
from medgrad_desktop.store import ProjectStore
from medgrad_desktop.store.study_tables import AnswerTaken, StudyTables
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
    "NextSession",
    "next_session",
    "when_text",
]


@dataclass(frozen=True)
class AIView:
    class_id: str
    display_name: str
    probability: float
    # the app's out-of-distribution warning goes with the answer: readers see the AI as the app shows it
    unlike_training: bool = False


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
    image_sha256: str = ""  # the content the study was created with: another image under the path is refused


def _utc(moment: datetime | None) -> datetime:
    if moment is None:
        return datetime.now(UTC)
    return moment.astimezone(UTC)  # a naive time is taken as local time


WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")  # not strftime's %a: Qt sets the C locale


def when_text(moment: datetime, tz: tzinfo | None = None) -> str:
    """A moment as the clock of the machine showing it reads (`tz` if given), with the offset from UTC and
    the zone's name, e.g. `Sun 2026-12-20 at 14:05 (UTC+01:00, CET)`: the app shows it to the reader in
    the reader's time, and a terminal's `medgrad study status` says which zone it prints."""
    local = moment.astimezone(tz)
    offset = local.utcoffset() or timedelta(0)
    minutes = abs(round(offset.total_seconds() / 60))
    zone = (
        "UTC"
        if minutes == 0
        else f"UTC{'-' if offset < timedelta(0) else '+'}{minutes // 60:02d}:{minutes % 60:02d}"
    )
    name = local.tzname() or ""
    if name.isalpha() and name != "UTC":  # "CET", "GMT"; not a fixed offset's "UTC+05:30" again
        zone += f", {name}"
    return f"{WEEKDAYS[local.weekday()]} {local:%Y-%m-%d at %H:%M} ({zone})"


def _stored(text: str) -> datetime:
    """A time the store wrote (ISO 8601 in UTC); one without an offset is taken as UTC."""
    moment = datetime.fromisoformat(text)
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


@dataclass(frozen=True)
class NextSession:
    """The reader's next session: the first one not finished."""

    session: int  # 1-based
    opens: (
        datetime  # in UTC: the previous session's finishing + the washout; the study's creation for the first
    )
    started: bool  # already opened once (it is resumed whatever the time)
    after: datetime | None  # when the previous session finished; None for the first session

    def is_open(self, moment: datetime) -> bool:
        """Whether the reader may read it at `moment`: a started or first session always, a later one
        once its washout is over."""
        return self.started or self.after is None or moment >= self.opens


def next_session(store: ProjectStore, spec: StudySpec, reader: str) -> NextSession | None:
    """When `reader`'s next session opens, from the store alone (None when every session is finished):
    the washout counts from the moment the store committed the last answer of the previous session, so
    every process that asks (the app that answered, a restarted one, the CLI) gets the same moment."""
    tables = StudyTables(store)
    opened = tables.sessions(spec.id, reader)
    n = len(spec.arms)
    nxt = next((s for s in range(1, n + 1) if s not in opened or opened[s][1] is None), None)
    if nxt is None:
        return None
    started = nxt in opened
    if nxt == 1:
        row = tables.study(spec.id)
        created = _stored(row.created) if row is not None else datetime.min.replace(tzinfo=UTC)
        return NextSession(1, created, started, None)
    after = _stored(opened[nxt - 1][1])
    return NextSession(nxt, after + timedelta(days=spec.design.washout_days), started, after)


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
        # read once: the catalogue is a file, and every answer is checked against these
        self._options = [o for o, _ in spec.questions.diagnosis_options()]

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
        n = len(spec.arms)
        nxt = next_session(store, spec, who.code)
        if nxt is None:
            raise StudyFinished(
                f"Reader {who.code} has finished all {n} sessions of the study '{spec.name}'. Thank you."
            )
        moment = _utc(now)
        if not nxt.is_open(moment) and nxt.after is not None:  # a closed session always has one before it
            exc = WashoutNotOver(
                f"Session {nxt.session} of {n} opens on {when_text(nxt.opens)}: the study asks for a "
                f"{_days(spec.design.washout_days)} washout after session {nxt.session - 1}, which you "
                f"finished on {when_text(nxt.after)}. Please come back then."
            )
            exc.opens = nxt.opens  # type: ignore[attr-defined]
            raise exc
        tables.start_session(spec.id, who.code, nxt.session, moment.isoformat(timespec="milliseconds"))
        return cls(store, spec, who.code, nxt.session)

    # ------------------------------------------------------------------ where the reader is
    def next_session_opens(self) -> datetime | None:
        """When this reader's next session (the first not finished) opens, in UTC, read from the store;
        None when no session is left. Asked after this session's last answer, it is the moment the
        store committed that answer plus the washout, whichever process asks and whenever."""
        nxt = next_session(self._tables.store, self.spec, self.reader)
        return None if nxt is None else nxt.opens

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
            ai = AIView(
                cid,
                self._names.get(cid, cid.replace("_", " ")),
                float(case["ai_probability"]),
                bool(case["ai_unlike_training"]),
            )
        given = self._answers.get(pos)
        previous = (
            Answer(
                given["answer"], given["confidence"], given["trust"], given["map_helped"], given["comment"]
            )
            if given
            else None
        )
        return CaseView(
            p["case_id"], Path(case["path"]), arm, pos, self.total, ai, previous, case["image_sha256"]
        )

    # ------------------------------------------------------------------ answering
    def answer(self, answer: Answer, seconds: float) -> None:
        """Check the answer against the study's questions, commit it, and move to the next case; the last
        answer of the session marks the session finished (the washout counts from then)."""
        pos = self._position()
        if pos is None:
            raise StudyError("This session is finished: there is no case left to answer.")
        arm = self.spec.arm(self._plan[pos - 1]["arm"])
        self._check(answer, arm, seconds)
        earlier = self._answers.get(pos) if self._cursor is not None else None
        # a case answered again after going back: its time is all the time spent on it, both readings
        spent = float(seconds) + (float(earlier["seconds"]) if earlier else 0.0)
        row = {
            "reader": self.reader,
            "session": self.session,
            "position": pos,
            "answer": answer.diagnosis,
            "confidence": answer.confidence,
            "trust": answer.trust,
            "map_helped": answer.map_helped,
            "comment": answer.comment.strip(),
            "seconds": spent,
            "answered": None,
        }
        try:  # a new answer never replaces one given meanwhile in another window; going back does
            self._tables.put_answer(self.spec.id, row, replace=self._cursor is not None)
        except AnswerTaken:
            raise StudyError(
                f"Case {pos} of this session was already answered in another reading window of reader "
                f"{self.reader}, so this answer was not saved. Close this window and start reading again "
                "to continue where the study stands."
            ) from None
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
        if a.diagnosis not in self._options:
            raise InvalidAnswer(
                f"'{a.diagnosis}' is not one of the diagnoses offered: {', '.join(self._options)}"
            )
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
