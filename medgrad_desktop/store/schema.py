"""The project store's schema as an ordered list of migrations. `PRAGMA user_version` records how many
have run; opening a store runs the missing ones in one transaction each, so a store written by an older
app is brought up to date in place and a newer app's store is refused rather than misread."""

from __future__ import annotations

import sqlite3

MIGRATIONS: tuple[str, ...] = (
    # 1: images by content, where they were seen, predictions and reviews
    """
    CREATE TABLE images (
        sha256 TEXT PRIMARY KEY,
        width INTEGER,
        height INTEGER,
        first_seen TEXT NOT NULL
    ) WITHOUT ROWID;
    CREATE TABLE sources (
        path TEXT PRIMARY KEY,
        sha256 TEXT NOT NULL REFERENCES images(sha256),
        size INTEGER NOT NULL,
        mtime_ns INTEGER NOT NULL,
        seen TEXT NOT NULL
    ) WITHOUT ROWID;
    CREATE INDEX sources_sha ON sources(sha256);
    CREATE TABLE predictions (
        image_sha256 TEXT NOT NULL,
        model_sha256 TEXT NOT NULL,
        params TEXT NOT NULL,
        target TEXT NOT NULL,
        result BLOB NOT NULL,
        created TEXT NOT NULL,
        UNIQUE (image_sha256, model_sha256, params, target)
    );
    CREATE TABLE reviews (
        image_sha256 TEXT PRIMARY KEY,
        file_name TEXT NOT NULL DEFAULT '',
        decision TEXT NOT NULL CHECK (decision IN ('pending', 'accepted', 'overridden')),
        final_class TEXT,
        predicted_class TEXT,
        note TEXT NOT NULL DEFAULT '',
        updated TEXT NOT NULL
    ) WITHOUT ROWID;
    """,
    # 2: who reviewed, file names for finding moved folders, map metadata per method parameters and target, the audit trail, legacy imports
    """
    ALTER TABLE reviews ADD COLUMN reviewer TEXT NOT NULL DEFAULT '';
    ALTER TABLE sources ADD COLUMN name TEXT NOT NULL DEFAULT '';
    CREATE INDEX sources_name_size ON sources(name, size);
    CREATE TABLE maps (
        image_sha256 TEXT NOT NULL,
        model_sha256 TEXT NOT NULL,
        params TEXT NOT NULL,
        target TEXT NOT NULL,
        score REAL,
        raw_max REAL,
        created TEXT NOT NULL,
        PRIMARY KEY (image_sha256, model_sha256, params, target)
    ) WITHOUT ROWID;
    CREATE TABLE audit (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        time TEXT NOT NULL,
        event TEXT NOT NULL,
        model_sha256 TEXT,
        file_sha256 TEXT,
        details TEXT NOT NULL DEFAULT '{}'
    );
    CREATE INDEX audit_file ON audit(file_sha256);
    CREATE TABLE legacy_imports (
        file TEXT PRIMARY KEY,
        content_sha256 TEXT NOT NULL,
        records INTEGER NOT NULL,
        imported TEXT NOT NULL
    ) WITHOUT ROWID;
    """,
    # 3: each map's stability figure (max-sensitivity under harmless noise, core/stability.py) and its rule
    """
    ALTER TABLE maps ADD COLUMN stability REAL;
    ALTER TABLE maps ADD COLUMN stability_rule TEXT NOT NULL DEFAULT '';
    """,
    # 4: reader studies (store/study_tables.py): the frozen study file, its cases with their frozen AI
    # prediction (and whether the app flags its image as unlike the training images), the reading plan,
    # each reader's sessions and every answer
    """
    CREATE TABLE studies (
        study_id TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        spec TEXT NOT NULL,
        spec_sha256 TEXT NOT NULL,
        model_sha256 TEXT NOT NULL,
        created TEXT NOT NULL
    ) WITHOUT ROWID;
    CREATE TABLE study_cases (
        study_id TEXT NOT NULL REFERENCES studies(study_id),
        case_id TEXT NOT NULL,
        image_sha256 TEXT NOT NULL,
        path TEXT NOT NULL,
        truth TEXT NOT NULL,
        ai_class TEXT NOT NULL,
        ai_probability REAL NOT NULL,
        ai_unlike_training INTEGER NOT NULL DEFAULT 0,
        PRIMARY KEY (study_id, case_id)
    ) WITHOUT ROWID;
    CREATE TABLE study_plan (
        study_id TEXT NOT NULL REFERENCES studies(study_id),
        reader TEXT NOT NULL,
        session INTEGER NOT NULL,
        position INTEGER NOT NULL,
        case_id TEXT NOT NULL,
        arm TEXT NOT NULL,
        repeat INTEGER NOT NULL,
        PRIMARY KEY (study_id, reader, session, position)
    ) WITHOUT ROWID;
    CREATE TABLE study_sessions (
        study_id TEXT NOT NULL REFERENCES studies(study_id),
        reader TEXT NOT NULL,
        session INTEGER NOT NULL,
        started TEXT NOT NULL,
        finished TEXT,
        PRIMARY KEY (study_id, reader, session)
    ) WITHOUT ROWID;
    CREATE TABLE study_answers (
        study_id TEXT NOT NULL REFERENCES studies(study_id),
        reader TEXT NOT NULL,
        session INTEGER NOT NULL,
        position INTEGER NOT NULL,
        answer TEXT NOT NULL,
        confidence INTEGER,
        trust INTEGER,
        map_helped INTEGER,
        comment TEXT NOT NULL DEFAULT '',
        seconds REAL NOT NULL,
        answered TEXT NOT NULL,
        PRIMARY KEY (study_id, reader, session, position)
    ) WITHOUT ROWID;
    """,
)
SCHEMA_VERSION = len(MIGRATIONS)


class NewerSchemaError(Exception):
    """The store was written by a newer version of the app."""


def schema_version(conn: sqlite3.Connection) -> int:
    return int(conn.execute("PRAGMA user_version").fetchone()[0])


def migrate(conn: sqlite3.Connection, upto: int = SCHEMA_VERSION) -> int:
    """Run the migrations the store lacks, each atomically with its version bump. Returns the version."""
    version = schema_version(conn)
    if version > SCHEMA_VERSION:
        raise NewerSchemaError(
            f"schema version {version} is newer than this app's {SCHEMA_VERSION}; "
            "update MedGrad Desktop to open it"
        )
    for number in range(version + 1, upto + 1):
        script = MIGRATIONS[number - 1]
        conn.execute("BEGIN IMMEDIATE")
        try:
            if schema_version(conn) >= number:  # another process migrated meanwhile
                conn.execute("ROLLBACK")
                continue
            for statement in (s.strip() for s in script.split(";")):
                if statement:
                    conn.execute(statement)
            conn.execute(f"PRAGMA user_version = {number}")
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
    return schema_version(conn)
