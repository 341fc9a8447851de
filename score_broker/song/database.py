"""The embedded Song's SQLite database: studies, analysis types, analyses, their files."""

from __future__ import annotations

import json
import logging
import os
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

from score_broker.song.schemas import SEEDED_TYPES

log = logging.getLogger(__name__)

SCHEMA = """
CREATE TABLE IF NOT EXISTS study (
    id TEXT PRIMARY KEY, name TEXT, organization TEXT, description TEXT, info TEXT
);
CREATE TABLE IF NOT EXISTS analysis_schema (
    id INTEGER PRIMARY KEY, name TEXT NOT NULL, version INTEGER NOT NULL,
    schema TEXT NOT NULL, file_types TEXT NOT NULL, created_at TEXT NOT NULL,
    UNIQUE (name, version)
);
CREATE TABLE IF NOT EXISTS analysis (
    id TEXT PRIMARY KEY, study_id TEXT NOT NULL REFERENCES study(id), state TEXT NOT NULL,
    schema_id INTEGER NOT NULL REFERENCES analysis_schema(id), data TEXT NOT NULL,
    created_at TEXT NOT NULL, updated_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS analysis_state_change (
    id INTEGER PRIMARY KEY, analysis_id TEXT NOT NULL REFERENCES analysis(id),
    initial_state TEXT NOT NULL, updated_state TEXT NOT NULL, updated_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS file (
    id TEXT PRIMARY KEY, analysis_id TEXT NOT NULL REFERENCES analysis(id),
    study_id TEXT NOT NULL, name TEXT NOT NULL, size INTEGER NOT NULL, md5 TEXT NOT NULL,
    type TEXT NOT NULL, access TEXT NOT NULL, data_type TEXT NOT NULL, info TEXT,
    position INTEGER NOT NULL, UNIQUE (analysis_id, name)
);
CREATE INDEX IF NOT EXISTS file_md5 ON file (md5);
CREATE INDEX IF NOT EXISTS file_analysis ON file (analysis_id);
"""


def now_text() -> str:
    """Song's dates: ISO-8601 local date-time without a zone."""
    return datetime.now().isoformat(timespec="microseconds")


def stored_json(text: str | None) -> Any:
    """A JSON column's value; None if it cannot be decoded (an older broker stored values nested
    deeper than Python decodes), so one bad value never makes a read fail."""
    if not text:
        return None
    try:
        return json.loads(text)
    except (ValueError, RecursionError) as error:
        log.warning("a stored JSON value cannot be read and is served as null: %s", error)
        return None


class SongDatabase:
    """One SQLite connection guarded by a lock; each `transaction()` is atomic."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        if not path.exists():
            os.close(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600))
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._db.row_factory = sqlite3.Row
        self._db.execute("PRAGMA journal_mode = WAL")
        self._db.execute("PRAGMA busy_timeout = 5000")
        self._db.execute("PRAGMA foreign_keys = ON")
        self._db.executescript(SCHEMA)
        self._lock = threading.RLock()
        self._seed()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def query(self, sql: str, parameters: tuple[Any, ...] = ()) -> list[sqlite3.Row]:
        with self._lock:
            return self._db.execute(sql, parameters).fetchall()

    def _seed(self) -> None:
        with self.transaction() as db:
            for name, schema in SEEDED_TYPES:
                db.execute(
                    "INSERT OR IGNORE INTO analysis_schema (name, version, schema, file_types, "
                    "created_at) VALUES (?, 1, ?, '[]', ?)",
                    (name, json.dumps(schema), now_text()),
                )
