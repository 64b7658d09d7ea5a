"""The reading session: blinding in the data layer, every answer committed at once (surviving a closed
store and a SIGKILL), resume at the next case, the washout, going back only when allowed."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from datetime import UTC, datetime, timedelta, timezone

import pytest

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
from medgrad_desktop.study.responses import load_responses
from medgrad_desktop.study.session import (
    Answer,
    CaseView,
    NextSession,
    ReadingSession,
    next_session,
    when_text,
)


def fitting(view: CaseView, diagnosis: str = "melanoma", confidence: int = 7) -> Answer:
    """An answer with exactly the questions this case's arm asks."""
    return Answer(
        diagnosis,
        confidence,
        trust=5 if view.arm.shows_ai else None,
        map_helped=3 if view.arm.shows_map else None,
    )


def read_all(session: ReadingSession) -> None:
    while (view := session.current()) is not None:
        session.answer(fitting(view), 2.5)


def test_the_ai_is_in_the_case_only_in_arms_that_show_it(make_study):
    store, spec = make_study()
    frozen = StudyTables(store).cases(spec.id)
    seen = set()
    for _ in spec.arms:
        session = ReadingSession.open(store, spec.id, "R01")
        while (view := session.current()) is not None:
            seen.add(view.arm.shows)
            if view.arm.shows == "nothing":
                assert view.ai is None
            else:
                assert view.ai is not None and view.ai.class_id == frozen[view.case_id]["ai_class"]
                assert view.ai.probability == pytest.approx(frozen[view.case_id]["ai_probability"])
            session.answer(fitting(view), 1.0)
    assert seen == {"nothing", "prediction", "map"}


def test_answers_are_committed_at_once_and_the_reader_resumes_at_the_next_case(make_study, tmp_path):
    store, spec = make_study()
    session = ReadingSession.open(store, spec.id, "R02")
    given = []
    for _ in range(3):
        view = session.current()
        session.answer(fitting(view, confidence=4), 3.25)
        given.append(view.case_id)
    store.close()

    again = ProjectStore(tmp_path / "study-store.sqlite3")
    resumed = ReadingSession.open(again, spec.id, "R02")
    assert resumed.session == session.session and resumed.progress() == (3, session.total)
    assert resumed.current().position == 4
    rows = load_responses(again, spec.id)
    assert [r.case_id for r in rows] == given
    assert all(r.reader == "R02" and r.confidence == 4 and r.seconds == 3.25 for r in rows)


CHILD = textwrap.dedent(
    """
    import sys, time
    from medgrad_desktop.store import ProjectStore
    from medgrad_desktop.study.session import Answer, ReadingSession

    session = ReadingSession.open(ProjectStore(sys.argv[1]), sys.argv[2], "R01")
    for _ in range(int(sys.argv[3])):
        view = session.current()
        session.answer(Answer("melanoma", 6, 5 if view.arm.shows_ai else None,
                              3 if view.arm.shows_map else None), 1.5)
        print(view.position, flush=True)
    print("waiting", flush=True)
    time.sleep(120)  # mid-session: the next case is on screen when the kill comes
    """
)


def test_a_reader_process_killed_mid_session_loses_no_answer_and_resumes_at_the_next_case(
    make_study, tmp_path
):
    store, spec = make_study()
    path = tmp_path / "study-store.sqlite3"
    store.close()
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(path), spec.id, "4"],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "MEDGRAD_DATA_DIR": str(tmp_path / "child-data")},
    )
    try:
        lines = [child.stdout.readline().strip() for _ in range(5)]
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=30)
    assert lines == ["1", "2", "3", "4", "waiting"] and child.returncode == -signal.SIGKILL

    reopened = ProjectStore(path)
    session = ReadingSession.open(reopened, spec.id, "R01")
    assert session.session == 1 and session.progress() == (4, session.total)
    assert session.current().position == 5
    assert [r.position for r in load_responses(reopened, spec.id)] == [1, 2, 3, 4]


def test_the_washout_refuses_the_next_session_with_its_date(make_study):
    store, spec = make_study({"design": {"washout_days": 14}})
    first = ReadingSession.open(store, spec.id, "R01")
    read_all(first)
    finished = datetime.fromisoformat(StudyTables(store).sessions(spec.id, "R01")[1][1])
    opens = finished + timedelta(days=14)
    assert first.next_session_opens() == opens  # from the store: the committed finish + the washout
    assert next_session(store, spec, "R01") == NextSession(2, opens, False, finished)
    with pytest.raises(WashoutNotOver) as exc:
        ReadingSession.open(store, spec.id, "R01", now=finished + timedelta(days=13, hours=23))
    message = str(exc.value)
    assert f"Session 2 of 3 opens on {when_text(opens)}: " in message
    assert f"which you finished on {when_text(finished)}" in message
    assert "14-day washout after session 1" in message and exc.value.opens == opens
    # the other reader is not held back, and after the washout session 2 opens
    assert ReadingSession.open(store, spec.id, "R02").session == 1
    assert ReadingSession.open(store, spec.id, "R01", now=opens + timedelta(minutes=1)).session == 2


def test_next_session_is_read_from_the_store_whoever_asks(make_study):
    store, spec = make_study({"design": {"washout_days": 2.5}})
    created = datetime.fromisoformat(StudyTables(store).study(spec.id).created)
    assert next_session(store, spec, "R01") == NextSession(1, created, False, None)
    session = ReadingSession.open(store, spec.id, "R01")
    assert session.next_session_opens() == created  # the open session is the next one, open since creation
    read_all(session)
    finished = datetime.fromisoformat(StudyTables(store).sessions(spec.id, "R01")[1][1])
    nxt = next_session(store, spec, "R01")
    assert nxt.opens == finished + timedelta(days=2.5) and nxt.opens.utcoffset() == timedelta(0)
    assert not nxt.is_open(nxt.opens - timedelta(seconds=1)) and nxt.is_open(nxt.opens)
    # another process on the same store (the app restarted, the CLI) reads the very same moment
    assert next_session(ProjectStore(store.path), spec, "R01") == nxt
    assert ReadingSession.open(store, spec.id, "R01", now=nxt.opens).session == 2
    assert next_session(store, spec, "R01").started  # a started session stays open whatever the time
    for _ in range(2):
        read_all(ReadingSession.open(store, spec.id, "R01", now=datetime.now(UTC) + timedelta(days=99)))
    assert next_session(store, spec, "R01") is None


@pytest.mark.parametrize(
    ("tz", "text"),
    [
        (UTC, "Sun 2026-12-20 at 13:05 (UTC)"),
        (timezone(timedelta(hours=5, minutes=30)), "Sun 2026-12-20 at 18:35 (UTC+05:30)"),
        (timezone(timedelta(hours=-3), "BRT"), "Sun 2026-12-20 at 10:05 (UTC-03:00, BRT)"),
        (timezone(timedelta(hours=1), "CET"), "Sun 2026-12-20 at 14:05 (UTC+01:00, CET)"),
    ],
)
def test_when_text_is_local_time_with_its_offset(tz, text):
    assert when_text(datetime(2026, 12, 20, 13, 5, 41, tzinfo=UTC), tz) == text


def test_when_text_defaults_to_the_machines_zone(monkeypatch):
    monkeypatch.setenv("TZ", "Asia/Kolkata")
    time.tzset()
    try:
        assert when_text(datetime(2026, 1, 5, 0, 0, tzinfo=UTC)) == "Mon 2026-01-05 at 05:30 (UTC+05:30, IST)"
    finally:
        monkeypatch.undo()
        time.tzset()


def test_a_started_session_resumes_whatever_the_washout(make_study):
    store, spec = make_study({"design": {"washout_days": 30}})
    session = ReadingSession.open(store, spec.id, "R01")
    session.answer(fitting(session.current()), 1.0)
    assert ReadingSession.open(store, spec.id, "R01").progress()[0] == 1


def test_a_reader_who_finished_every_session_is_told_so(make_study):
    store, spec = make_study()
    for _ in spec.arms:
        read_all(ReadingSession.open(store, spec.id, "R01"))
    with pytest.raises(StudyFinished, match="finished all 3 sessions"):
        ReadingSession.open(store, spec.id, "R01")
    assert {s for s, (_, done) in StudyTables(store).sessions(spec.id, "R01").items() if done} == {1, 2, 3}


def test_unknown_study_and_reader_are_refused(make_study):
    store, spec = make_study({"study": {"readers": [{"code": "R01", "name": "Dr Ada"}, "R02"]}})
    with pytest.raises(UnknownStudy, match="no study 'nope'"):
        ReadingSession.open(store, "nope", "R01")
    with pytest.raises(UnknownReader, match="'R09' is not a reader"):
        ReadingSession.open(store, spec.id, "R09")
    assert ReadingSession.open(store, spec.id, "dr ada").reader == "R01"  # a name finds the code


def test_answers_that_do_not_fit_the_questions_are_refused_and_not_stored(make_study):
    store, spec = make_study()
    session = ReadingSession.open(store, spec.id, "R01")
    view = session.current()
    ok = fitting(view)
    bad = [
        Answer("cancer", 5, ok.trust, ok.map_helped),
        Answer("melanoma", 11, ok.trust, ok.map_helped),
        Answer("melanoma", None, ok.trust, ok.map_helped),
        Answer("melanoma", 5, None if view.arm.shows_ai else 5, ok.map_helped),
        Answer("melanoma", 5, ok.trust, None if view.arm.shows_map else 2),
    ]
    for answer in bad:
        with pytest.raises(InvalidAnswer):
            session.answer(answer, 1.0)
    with pytest.raises(InvalidAnswer, match="seconds"):
        session.answer(ok, -1.0)
    assert session.progress()[0] == 0 and load_responses(store, spec.id) == []


def test_going_back_only_when_the_study_allows_it_and_re_answering_replaces(make_study):
    store, spec = make_study()
    session = ReadingSession.open(store, spec.id, "R01")
    session.answer(fitting(session.current()), 1.0)
    with pytest.raises(StudyError, match="does not allow going back"):
        session.back()
    store.close()

    store, spec = make_study({"study": {"id": "t-back", "may_go_back": True}})
    session = ReadingSession.open(store, spec.id, "R01")
    with pytest.raises(StudyError, match="first case"):
        session.back()
    first = session.current()
    session.answer(fitting(first, "lentigo"), 1.0)
    session.answer(fitting(session.current()), 1.0)
    back = session.back()
    assert back.position == 2 and back.previous is not None
    back = session.back()
    assert back.case_id == first.case_id and back.previous.diagnosis == "lentigo"
    session.answer(fitting(back, "melanosis"), 4.0)
    assert session.current().position == 3  # on to the first case not answered
    rows = load_responses(store, spec.id)
    # the new answer replaces the old; the case's time is both readings' (1 s, then 4 s)
    assert len(rows) == 2 and rows[0].answer == "melanosis" and rows[0].seconds == 5.0


def test_a_second_window_of_the_same_reader_never_overwrites_an_answer(make_study, tmp_path):
    """Two windows on one session (two store connections) show the same case: the first answer wins,
    the second window's is refused and saved nowhere, and it keeps refusing until reopened."""
    store, spec = make_study({"design": {"repeat_share": 0}})
    one = ReadingSession.open(store, spec.id, "R01")
    two = ReadingSession.open(ProjectStore(tmp_path / "study-store.sqlite3"), spec.id, "R01")
    view = one.current()
    assert two.current().case_id == view.case_id
    one.answer(fitting(view, "lentigo"), 9.0)
    for _ in range(2):
        with pytest.raises(StudyError, match="another reading window"):
            two.answer(fitting(view, "melanoma"), 1.0)
    rows = load_responses(store, spec.id)
    assert [(r.position, r.answer, r.seconds) for r in rows] == [(1, "lentigo", 9.0)]
    reopened = ReadingSession.open(store, spec.id, "R01")
    assert reopened.current().position == 2
