"""The project store's reader-study tables (migration 4): a study's frozen file, cases and plan, and the
readers' sessions and answers.

Rows only: what a study file means, what a plan is and when a session may open are the study package's
business (`medgrad_desktop.study`), which reaches the tables through `StudyTables(store)` alone. A study
is written in one transaction (all of it or none), and each answer in one short transaction of its own,
committed the moment it is given, so a reader's process killed mid-session loses no answer already given.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from medgrad_desktop.store.project import ProjectStore, now

# ai_unlike_training: 1 when the app would have shown the AI's answer with its out-of-distribution warning
CASE_FIELDS = ("case_id", "image_sha256", "path", "truth", "ai_class", "ai_probability", "ai_unlike_training")
PLAN_FIELDS = ("reader", "session", "position", "case_id", "arm", "repeat")
ANSWER_FIELDS = (
    "reader",
    "session",
    "position",
    "answer",
    "confidence",
    "trust",
    "map_helped",
    "comment",
    "seconds",
    "answered",
)


class StudyExists(Exception):
    """A study of this id is already in the store with another study file (`spec_sha256` differs)."""

    def __init__(self, study_id: str, spec_sha256: str, created: str):
        self.study_id, self.spec_sha256, self.created = study_id, spec_sha256, created
        super().__init__(f"study '{study_id}' already exists (created {created})")


class AnswerTaken(Exception):
    """The position already holds an answer and the caller asked not to replace it (another window of
    the same reader answered it first)."""


@dataclass(frozen=True)
class StudyRow:
    study_id: str
    name: str
    spec: str  # canonical JSON of the study file
    spec_sha256: str
    model_sha256: str
    created: str


class StudyTables:
    def __init__(self, store: ProjectStore):
        self.store = store

    # ------------------------------------------------------------------ the frozen study
    def study(self, study_id: str) -> StudyRow | None:
        rows = self.store._query(
            "SELECT study_id, name, spec, spec_sha256, model_sha256, created FROM studies WHERE study_id = ?",
            (study_id,),
        )
        return StudyRow(*rows[0]) if rows else None

    def study_ids(self) -> list[str]:
        return [r[0] for r in self.store._query("SELECT study_id FROM studies ORDER BY created")]

    def insert_study(
        self, row: StudyRow, cases: Iterable[dict], plan: Iterable[dict], *, audit: dict | None = None
    ) -> bool:
        """Write a study, its cases and its plan in one transaction. False (nothing written) when the same
        study file is already there; `StudyExists` when another file holds the id."""
        with self.store.transaction() as c:
            old = c.execute(
                "SELECT spec_sha256, created FROM studies WHERE study_id = ?", (row.study_id,)
            ).fetchone()
            if old is not None:
                if old[0] == row.spec_sha256:
                    return False
                raise StudyExists(row.study_id, old[0], old[1])
            c.execute(
                "INSERT INTO studies(study_id, name, spec, spec_sha256, model_sha256, created) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (row.study_id, row.name, row.spec, row.spec_sha256, row.model_sha256, row.created),
            )
            c.executemany(
                f"INSERT INTO study_cases(study_id, {', '.join(CASE_FIELDS)}) "
                f"VALUES (?, {', '.join('?' * len(CASE_FIELDS))})",
                [(row.study_id, *(k[f] for f in CASE_FIELDS)) for k in cases],
            )
            c.executemany(
                f"INSERT INTO study_plan(study_id, {', '.join(PLAN_FIELDS)}) VALUES (?, ?, ?, ?, ?, ?, ?)",
                [(row.study_id, *(int(p[f]) if f == "repeat" else p[f] for f in PLAN_FIELDS)) for p in plan],
            )
            ProjectStore._audit(c, "study_created", row.model_sha256, None, audit or {"study": row.study_id})
        return True

    def cases(self, study_id: str) -> dict[str, dict]:
        rows = self.store._query(
            f"SELECT {', '.join(CASE_FIELDS)} FROM study_cases WHERE study_id = ? ORDER BY case_id",
            (study_id,),
        )
        return {r[0]: dict(zip(CASE_FIELDS, r, strict=True)) for r in rows}

    def plan(self, study_id: str, reader: str | None = None, session: int | None = None) -> list[dict]:
        """Plan rows in reading order (reader, session, position), of one reader and session if given."""
        rows = self._reading_rows("study_plan", PLAN_FIELDS, study_id, reader, session)
        return [{**dict(zip(PLAN_FIELDS, r, strict=True)), "repeat": bool(r[5])} for r in rows]

    # ------------------------------------------------------------------ sessions and answers
    def sessions(self, study_id: str, reader: str) -> dict[int, tuple[str, str | None]]:
        """session -> (started, finished or None) for the sessions the reader has opened."""
        rows = self.store._query(
            "SELECT session, started, finished FROM study_sessions WHERE study_id = ? AND reader = ?",
            (study_id, reader),
        )
        return {int(s): (a, b) for s, a, b in rows}

    def start_session(self, study_id: str, reader: str, session: int, started: str) -> None:
        """Record when a session was first opened (a later opening keeps the first time)."""
        with self.store.transaction() as c:
            c.execute(
                "INSERT OR IGNORE INTO study_sessions(study_id, reader, session, started) VALUES (?, ?, ?, ?)",
                (study_id, reader, session, started),
            )

    def put_answer(self, study_id: str, answer: dict, *, replace: bool = True) -> bool:
        """Commit one answer (replacing an earlier one at the same position, unless `replace` is False:
        then `AnswerTaken` and nothing written) and, when it completes the session, mark the session
        finished, in the same transaction. True when the session is finished."""
        row = {**answer, "answered": answer.get("answered") or now()}
        with self.store.transaction() as c:
            cur = c.execute(
                f"INSERT OR {'REPLACE' if replace else 'IGNORE'} INTO study_answers(study_id, "
                f"{', '.join(ANSWER_FIELDS)}) VALUES (?, {', '.join('?' * len(ANSWER_FIELDS))})",
                (study_id, *(row[f] for f in ANSWER_FIELDS)),
            )
            if cur.rowcount == 0:
                raise AnswerTaken(f"{row['reader']} session {row['session']} position {row['position']}")
            key = (study_id, row["reader"], row["session"])
            planned = c.execute(
                "SELECT count(*) FROM study_plan WHERE study_id = ? AND reader = ? AND session = ?", key
            ).fetchone()[0]
            given = c.execute(
                "SELECT count(*) FROM study_answers WHERE study_id = ? AND reader = ? AND session = ?", key
            ).fetchone()[0]
            if given < planned:
                return False
            c.execute(
                "INSERT OR IGNORE INTO study_sessions(study_id, reader, session, started) VALUES (?, ?, ?, ?)",
                (*key, row["answered"]),
            )
            c.execute(
                "UPDATE study_sessions SET finished = ? WHERE study_id = ? AND reader = ? AND session = ? "
                "AND finished IS NULL",
                (row["answered"], *key),
            )
        return True

    def answers(self, study_id: str, reader: str | None = None, session: int | None = None) -> list[dict]:
        rows = self._reading_rows("study_answers", ANSWER_FIELDS, study_id, reader, session)
        return [dict(zip(ANSWER_FIELDS, r, strict=True)) for r in rows]

    def _reading_rows(
        self, table: str, fields: tuple[str, ...], study_id: str, reader: str | None, session: int | None
    ) -> list[tuple]:
        """Rows of a table keyed by (study, reader, session, position) in reading order, of one reader
        and session if given."""
        sql = f"SELECT {', '.join(fields)} FROM {table} WHERE study_id = ?"
        args: list = [study_id]
        if reader is not None:
            sql += " AND reader = ?"
            args.append(reader)
        if session is not None:
            sql += " AND session = ?"
            args.append(session)
        return self.store._query(sql + " ORDER BY reader, session, position", args)
