"""The project store: one SQLite file in the app's data folder holding, for every image ever opened,
its SHA-256 and the paths it was seen at, its predictions and map metadata per (model, method
parameters, target), its review with the reviewer's name and time, and the audit trail.

Everything is keyed by content, so a moved, renamed or copied folder keeps its predictions and
decisions. WAL journaling with one short transaction per change lets two app processes (or the app and
the CLI) write at once without losing a decision, and a process killed mid-write leaves the last
committed state. A file that SQLite finds damaged is renamed aside (never deleted) and a new store is
started; `notice` then says so in one line for the person at the screen.

The file and its -wal and -shm files are private to the user (0600): the store file is made with that
mode before SQLite opens it, and SQLite gives its side files the database file's mode.
"""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
import threading
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from medgrad_desktop.appdata import data_dir
from medgrad_desktop.atomic import create_private_file, make_dir, tighten_file
from medgrad_desktop.core.prediction import Prediction
from medgrad_desktop.store.codec import decode_prediction, encode_prediction
from medgrad_desktop.store.schema import SCHEMA_VERSION, NewerSchemaError, migrate, schema_version

if TYPE_CHECKING:  # `medgrad store info` opens the store without numpy, OpenCV or pydicom
    from medgrad_desktop.core.heatmap import Heatmap

STORE_NAME = "project.sqlite3"
REVIEW_FIELDS = (
    "image_sha256",
    "file_name",
    "decision",
    "final_class",
    "predicted_class",
    "note",
    "updated",
    "reviewer",
)
_CHUNK = 500  # SQLite's bound-parameter limit is far above; keeps each query small


class StoreError(Exception):
    """The store cannot be used (e.g. written by a newer app); `str()` says what to do."""


def default_store_path() -> Path:
    return data_dir() / STORE_NAME


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def _file_stat(path: Path) -> tuple[int, int] | None:
    """(size, mtime_ns) of the file behind a path (a frame `a.dcm#2` is its file's)."""
    from medgrad_desktop.core.dicomio import split_frame

    try:
        st = os.stat(split_frame(path)[0])
    except OSError:
        return None
    return st.st_size, st.st_mtime_ns


def _is_corruption(exc: sqlite3.DatabaseError) -> bool:
    """Damage, not contention: a locked or busy store is an OperationalError to wait out, never to discard."""
    if isinstance(exc, sqlite3.OperationalError):
        return "malformed" in str(exc) or "not a database" in str(exc)
    return True


class ProjectStore:
    _shared: dict[str, ProjectStore] = {}
    _shared_lock = threading.Lock()

    def __init__(self, path: Path | str | None = None, *, timeout: float = 30.0):
        self.path = Path(path) if path is not None else default_store_path()
        self.timeout = timeout
        self.notice: str | None = None  # set when a damaged store was set aside
        self.set_aside: Path | None = None
        self._lock = threading.RLock()
        make_dir(self.path.parent, private=True)
        self._conn = self._open()

    # ------------------------------------------------------------------ opening
    @classmethod
    def shared(cls, path: Path | str | None = None) -> ProjectStore:
        """One open store per file in this process (the app's model, its reviews and the CLI share it)."""
        key = str((Path(path) if path is not None else default_store_path()).resolve())
        with cls._shared_lock:
            store = cls._shared.get(key)
            if store is None or store._conn is None:
                store = cls._shared[key] = cls(key)
            return store

    @classmethod
    def current(cls) -> ProjectStore | None:
        """The store this process opened for the default data folder, if any (the audit log mirrors into it)."""
        with cls._shared_lock:
            store = cls._shared.get(str(default_store_path().resolve()))
        return store if store is not None and store._conn is not None else None

    @classmethod
    def close_all(cls) -> None:
        """Close every store `shared` opened in this process (tests, and an app shutting down)."""
        with cls._shared_lock:
            stores = list(cls._shared.values())
        for store in stores:
            store.close()

    def _connect(self) -> sqlite3.Connection:
        create_private_file(self.path)
        for tail in ("-wal", "-shm"):  # left readable by an earlier version
            tighten_file(f"{self.path}{tail}")
        conn = sqlite3.connect(self.path, timeout=self.timeout, isolation_level=None, check_same_thread=False)
        conn.execute(f"PRAGMA busy_timeout = {int(self.timeout * 1000)}")
        mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
        if str(mode).lower() != "wal":
            raise sqlite3.OperationalError(f"could not switch to WAL journaling (got {mode})")
        conn.execute("PRAGMA synchronous = NORMAL")  # with WAL: a killed process loses no committed change
        return conn

    def _open(self) -> sqlite3.Connection:
        conn = None
        try:
            conn = self._connect()
            check = conn.execute("PRAGMA quick_check").fetchone()[0]
            if check != "ok":
                raise sqlite3.DatabaseError(f"integrity check failed: {check}")
            migrate(conn)
            return conn
        except NewerSchemaError as exc:
            if conn is not None:
                conn.close()
            raise StoreError(f"{self.path}: {exc}") from None
        except sqlite3.DatabaseError as exc:
            if conn is not None:
                conn.close()
            if not _is_corruption(exc):
                raise
            return self._start_over(str(exc))

    def _start_over(self, cause: str) -> sqlite3.Connection:
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        aside = self.path.with_name(f"{self.path.stem}.corrupt-{stamp}{self.path.suffix}")
        os.replace(self.path, aside)
        for tail in ("-wal", "-shm"):
            side = Path(str(self.path) + tail)
            if side.exists():
                os.replace(side, Path(str(aside) + tail))
        self.set_aside = aside
        self.notice = (
            f"The project store {self.path} was damaged ({cause}); it was set aside as {aside.name} "
            "(nothing deleted) and a new, empty store was started: predictions will be made again "
            "and reviews stored from now on"
        )
        conn = self._connect()
        migrate(conn)
        self._conn = conn
        self.audit("store_set_aside", details={"damaged": str(aside), "cause": cause})
        return conn

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None
        with self._shared_lock:
            for k, v in list(self._shared.items()):
                if v is self:
                    del self._shared[k]

    @contextlib.contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """One atomic write: BEGIN IMMEDIATE takes the write lock at once (waiting up to `timeout` for
        another process), so a read-then-write inside never races another writer."""
        with self._lock:
            conn = self._connection()
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")

    def _connection(self) -> sqlite3.Connection:
        """The open connection; a closed store opens again on its next use (whoever still holds it)."""
        if self._conn is None:
            self._conn = self._open()
        return self._conn

    def _query(self, sql: str, params: Iterable = ()) -> list[tuple]:
        with self._lock:
            return self._connection().execute(sql, tuple(params)).fetchall()

    # ------------------------------------------------------------------ images and where they were seen
    def record_image(
        self, sha256: str, path: Path | str | None = None, size: tuple[int, int] | None = None
    ) -> None:
        """Remember an image by content and, when given, the path it was just read from."""
        t = now()
        with self.transaction() as c:
            c.execute(
                "INSERT INTO images(sha256, width, height, first_seen) VALUES (?, ?, ?, ?) "
                "ON CONFLICT(sha256) DO UPDATE SET width = coalesce(excluded.width, width), "
                "height = coalesce(excluded.height, height)",
                (sha256, size[0] if size else None, size[1] if size else None, t),
            )
            st = _file_stat(Path(path)) if path is not None else None
            if st is not None:
                key = _path_key(path)
                c.execute(
                    "INSERT INTO sources(path, sha256, size, mtime_ns, seen, name) VALUES (?, ?, ?, ?, ?, ?) "
                    "ON CONFLICT(path) DO UPDATE SET sha256 = excluded.sha256, size = excluded.size, "
                    "mtime_ns = excluded.mtime_ns, seen = excluded.seen, name = excluded.name",
                    (key, sha256, st[0], st[1], t, os.path.basename(key)),
                )

    def known_hashes(self, paths: list[Path]) -> dict[Path, str]:
        """The SHA-256 of each path whose file is unchanged (same size and modification time) since it was
        last read; a path not seen, or changed since, is absent and must be hashed again."""
        out: dict[Path, str] = {}
        keyed = {_path_key(p): p for p in paths}
        keys = list(keyed)
        for i in range(0, len(keys), _CHUNK):
            chunk = keys[i : i + _CHUNK]
            rows = self._query(
                f"SELECT path, sha256, size, mtime_ns FROM sources WHERE path IN "
                f"({','.join('?' * len(chunk))})",
                chunk,
            )
            for key, sha, size, mtime in rows:
                p = keyed[key]
                if _file_stat(p) == (size, mtime):
                    out[p] = sha
        return out

    def likely_hashes(self, paths: list[Path]) -> set[str]:
        """Hashes of images seen before under the same file name and size anywhere (a moved, renamed or
        copied folder): a hint for what to preload, never an identity, since the file is hashed anyway."""
        out: set[str] = set()
        pairs = []
        for p in paths:
            st = _file_stat(p)
            if st is not None:
                pairs.append((os.path.basename(_path_key(p)), st[0]))
        for i in range(0, len(pairs), _CHUNK):
            chunk = pairs[i : i + _CHUNK]
            where = " OR ".join("(name = ? AND size = ?)" for _ in chunk)
            out.update(
                r[0]
                for r in self._query(
                    f"SELECT sha256 FROM sources WHERE {where}", [v for pair in chunk for v in pair]
                )
            )
        return out

    def source_paths(self, sha256: str) -> list[str]:
        return [
            r[0]
            for r in self._query("SELECT path FROM sources WHERE sha256 = ? ORDER BY seen DESC", (sha256,))
        ]

    # ------------------------------------------------------------------ predictions and maps
    def put_prediction(self, sha256: str, pred: Prediction, params: str = "", target: str = "") -> None:
        """A classification has params = target = ''; an explanation's result may be stored under its
        method parameters and target."""
        with self.transaction() as c:
            c.execute("INSERT OR IGNORE INTO images(sha256, first_seen) VALUES (?, ?)", (sha256, now()))
            c.execute(
                "INSERT OR REPLACE INTO predictions(image_sha256, model_sha256, params, target, result, "
                "created) VALUES (?, ?, ?, ?, ?, ?)",
                (sha256, pred.model_sha256, params, target, encode_prediction(pred), now()),
            )

    def predictions(
        self, shas: Iterable[str], model_sha256: str | None = None
    ) -> dict[tuple[str, str], Prediction]:
        """(image, model) -> classification for the given images (of one model, or of every model)."""
        shas = list(dict.fromkeys(shas))
        out: dict[tuple[str, str], Prediction] = {}
        for i in range(0, len(shas), _CHUNK):
            chunk = shas[i : i + _CHUNK]
            sql = (
                f"SELECT image_sha256, model_sha256, result FROM predictions WHERE params = '' AND target = '' "
                f"AND image_sha256 IN ({','.join('?' * len(chunk))})"
            )
            args: list = list(chunk)
            if model_sha256 is not None:
                sql += " AND model_sha256 = ?"
                args.append(model_sha256)
            for sha, model, blob in self._query(sql, args):
                out[(sha, model)] = decode_prediction(blob)
        return out

    def put_map(
        self, sha256: str, model_sha256: str, params: dict, target: str, score: float, raw_max: float
    ) -> None:
        """What a map was made from and its strength (the pixels are recomputed, not stored). A map made
        again keeps its stability figure: the same image, model, parameters and target make the same map."""
        with self.transaction() as c:
            c.execute("INSERT OR IGNORE INTO images(sha256, first_seen) VALUES (?, ?)", (sha256, now()))
            c.execute(
                "INSERT INTO maps(image_sha256, model_sha256, params, target, score, raw_max, created)"
                " VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT(image_sha256, model_sha256, params, target) DO UPDATE"
                " SET score = excluded.score, raw_max = excluded.raw_max, created = excluded.created",
                (sha256, model_sha256, _params_key(params), target, float(score), float(raw_max), now()),
            )

    def put_heatmap(self, sha256: str, hm: Heatmap) -> None:
        """`put_map` from what a heatmap already carries: its parameters, target and model."""
        self.put_map(sha256, hm.model_sha256, hm.params, hm.target.key, hm.score, float(hm.raw.max()))

    def put_map_stability(
        self,
        sha256: str,
        model_sha256: str,
        params: dict,
        target: str,
        stability: float | None,
        rule_json: str,
    ) -> None:
        """A map's stability figure (`core.stability`; None: a flat map, measured but without a figure)
        and the rule it was measured under (`StabilityRule.to_json`), on the map's row; a map not yet
        recorded gets its row, its score and strength left empty until `put_map`."""
        if not rule_json:
            raise ValueError("a stability figure needs the rule it was measured under")
        with self.transaction() as c:
            c.execute("INSERT OR IGNORE INTO images(sha256, first_seen) VALUES (?, ?)", (sha256, now()))
            c.execute(
                "INSERT INTO maps(image_sha256, model_sha256, params, target, created, stability, stability_rule)"
                " VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT(image_sha256, model_sha256, params, target) DO UPDATE"
                " SET stability = excluded.stability, stability_rule = excluded.stability_rule",
                (
                    sha256,
                    model_sha256,
                    _params_key(params),
                    target,
                    now(),
                    None if stability is None else float(stability),
                    rule_json,
                ),
            )

    def map_stability(
        self, sha256: str, model_sha256: str, params: dict, target: str
    ) -> tuple[float | None, str] | None:
        """(figure, rule JSON) of a map whose stability was measured; None when it was not (or no such
        map is recorded). A figure of None is a flat map."""
        rows = self._query(
            "SELECT stability, stability_rule FROM maps WHERE image_sha256 = ? AND model_sha256 = ? AND "
            "params = ? AND target = ?",
            (sha256, model_sha256, _params_key(params), target),
        )
        if not rows or not rows[0][1]:
            return None
        return rows[0][0], rows[0][1]

    # ------------------------------------------------------------------ reviews
    def get_review(self, sha256: str) -> dict | None:
        rows = self._query(
            f"SELECT {', '.join(REVIEW_FIELDS)} FROM reviews WHERE image_sha256 = ?", (sha256,)
        )
        return dict(zip(REVIEW_FIELDS, rows[0], strict=True)) if rows else None

    def reviews(self) -> list[dict]:
        return [
            dict(zip(REVIEW_FIELDS, r, strict=True))
            for r in self._query(f"SELECT {', '.join(REVIEW_FIELDS)} FROM reviews ORDER BY updated")
        ]

    def put_review(
        self,
        review: dict,
        *,
        event: str = "review_saved",
        model_sha256: str | None = None,
        details: dict | None = None,
    ) -> None:
        """Write one decision and its one audit row in one transaction (both or neither); `details`
        for the row default to the decision, the final class and the reviewer."""
        row = {k: review.get(k) for k in REVIEW_FIELDS}
        row["note"] = row["note"] or ""
        row["file_name"] = row["file_name"] or ""
        row["reviewer"] = row["reviewer"] or ""
        row["updated"] = row["updated"] or now()
        with self.transaction() as c:
            c.execute(
                "INSERT OR IGNORE INTO images(sha256, first_seen) VALUES (?, ?)", (row["image_sha256"], now())
            )
            c.execute(
                f"INSERT OR REPLACE INTO reviews({', '.join(REVIEW_FIELDS)}) VALUES "
                f"({', '.join('?' * len(REVIEW_FIELDS))})",
                [row[k] for k in REVIEW_FIELDS],
            )
            if details is None:
                details = {
                    "decision": row["decision"],
                    "final": row["final_class"],
                    "reviewer": row["reviewer"],
                }
            self._audit(c, event, model_sha256, row["image_sha256"], details)

    def delete_review(
        self, sha256: str, *, event: str = "review_removed", details: dict | None = None
    ) -> None:
        """Remove one decision and write its one audit row in one transaction."""
        with self.transaction() as c:
            c.execute("DELETE FROM reviews WHERE image_sha256 = ?", (sha256,))
            self._audit(c, event, None, sha256, details or {})

    # ------------------------------------------------------------------ audit
    @staticmethod
    def _audit(
        c: sqlite3.Connection, event: str, model_sha256: str | None, file_sha256: str | None, details: dict
    ) -> None:
        c.execute(
            "INSERT INTO audit(time, event, model_sha256, file_sha256, details) VALUES (?, ?, ?, ?, ?)",
            (now(), event, model_sha256, file_sha256, json.dumps(details, ensure_ascii=False, default=str)),
        )

    def audit(
        self,
        event: str,
        model_sha256: str | None = None,
        file_sha256: str | None = None,
        details: dict | None = None,
    ) -> None:
        with self.transaction() as c:
            self._audit(c, event, model_sha256, file_sha256, details or {})

    def audit_events(self) -> list[dict]:
        return [
            {"time": t, "event": e, "model_sha256": m, "file_sha256": f, **json.loads(d)}
            for t, e, m, f, d in self._query(
                "SELECT time, event, model_sha256, file_sha256, details FROM audit ORDER BY id"
            )
        ]

    # ------------------------------------------------------------------ about the store
    def info(self) -> dict:
        def count(table: str) -> int:
            return int(self._query(f"SELECT count(*) FROM {table}")[0][0])

        return {
            "path": str(self.path),
            "schema_version": self.schema_version(),
            "images": count("images"),
            "predictions": count("predictions"),
            "reviews": count("reviews"),
        }

    def schema_version(self) -> int:
        with self._lock:
            return schema_version(self._connection())

    def integrity_check(self) -> str:
        return str(self._query("PRAGMA integrity_check")[0][0])

    def checkpoint(self) -> None:
        """Fold the WAL into the main file (before measuring its size or copying it)."""
        self._query("PRAGMA wal_checkpoint(TRUNCATE)")


def _params_key(params: dict) -> str:
    """A map's parameters as its row's key: canonical JSON."""
    return json.dumps(params, sort_keys=True, separators=(",", ":"))


def _path_key(path: Path | str) -> str:
    """Paths as stored: absolute, with the frame suffix kept; bytes that are not UTF-8 survive."""
    from medgrad_desktop.core.dicomio import split_frame

    p = Path(path)
    base, frame = split_frame(p)
    text = os.path.abspath(base) + (f"#{frame}" if frame is not None else "")
    return text.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


__all__ = ["SCHEMA_VERSION", "STORE_NAME", "ProjectStore", "StoreError", "default_store_path"]
