"""The journal: every transfer and every part's state in SQLite, under the user state directory.

It is what makes a killed process resumable: a part is written here as done only after its
bytes are verified (and, for an upload, recorded by the server). It also keeps what one-step
uploads registered in Song (`registrations.py`), so that running one again goes on with it.

Writes are gathered and committed together, at most FLUSH_SECONDS after they are made, before
any read, and on close: a transaction per event cost a small file several of them. A process
killed outright loses at most the last FLUSH_SECONDS of changes, which only means a few more
parts are moved again on resume (nothing is trusted that the journal did not record).
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
import typing
from collections.abc import Callable, Iterable
from dataclasses import fields
from enum import Enum
from pathlib import Path
from typing import Any

from score_tui.engine.model import Direction, PartRecord, State, Transfer

log = logging.getLogger(__name__)

SCHEMA = """
CREATE TABLE IF NOT EXISTS transfers (
    id TEXT PRIMARY KEY,
    direction TEXT NOT NULL,
    object_id TEXT NOT NULL,
    server_url TEXT NOT NULL,
    path TEXT NOT NULL,
    file_name TEXT NOT NULL,
    size INTEGER NOT NULL,
    md5 TEXT,
    md5_declared INTEGER NOT NULL DEFAULT 0,
    "offset" INTEGER NOT NULL,
    length INTEGER NOT NULL,
    force INTEGER NOT NULL,
    validate INTEGER NOT NULL,
    state TEXT NOT NULL,
    error TEXT,
    upload_id TEXT,
    temp_path TEXT,
    source_stamp TEXT,
    created REAL NOT NULL,
    updated REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS transfers_by_object ON transfers (object_id);
CREATE TABLE IF NOT EXISTS parts (
    transfer_id TEXT NOT NULL REFERENCES transfers(id) ON DELETE CASCADE,
    number INTEGER NOT NULL,
    "offset" INTEGER NOT NULL,
    size INTEGER NOT NULL,
    done INTEGER NOT NULL DEFAULT 0,
    md5 TEXT,
    etag TEXT,
    PRIMARY KEY (transfer_id, number)
);
CREATE TABLE IF NOT EXISTS registrations (
    id TEXT PRIMARY KEY,
    study TEXT NOT NULL,
    server_url TEXT NOT NULL,
    metadata_url TEXT NOT NULL,
    analysis_id TEXT,
    publish INTEGER NOT NULL,
    state TEXT NOT NULL,
    created REAL NOT NULL,
    updated REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS registered_files (
    registration_id TEXT NOT NULL REFERENCES registrations(id) ON DELETE CASCADE,
    position INTEGER NOT NULL,
    name TEXT NOT NULL,
    path TEXT NOT NULL,
    size INTEGER NOT NULL,
    md5 TEXT NOT NULL,
    object_id TEXT,
    PRIMARY KEY (registration_id, position)
);
"""

#: The longest a write waits before it is committed.
FLUSH_SECONDS = 0.1
#: Pending writes that are committed at once, whatever their age.
FLUSH_COUNT = 2000

#: Columns added after the first release of the journal, with their declarations.
ADDED_COLUMNS = {"md5_declared": "INTEGER NOT NULL DEFAULT 0", "source_stamp": "TEXT"}

#: The transfer fields the journal keeps, one column each, named as the fields are.
TRANSFER_FIELDS = tuple(f.name for f in fields(Transfer) if f.metadata.get("journalled", True))
#: The fields `save` writes: those that change while a transfer runs.
CHANGING_FIELDS = (
    "size", "md5", "state", "error", "upload_id", "temp_path", "source_stamp", "force", "updated",
)  # fmt: skip


def _stored(value: object) -> object:
    """A field's value as SQLite keeps it: enums by value, booleans as 0 or 1."""
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, bool):
        return int(value)
    return value


def _loader(kind: object) -> Callable[[Any], object] | None:
    """How a column's value becomes the field's: booleans and enums converted, others as is."""
    if kind is bool:
        return bool
    if isinstance(kind, type) and issubclass(kind, Enum):
        return kind
    return None


#: Each journalled field's conversion from its column, worked out once.
_LOADERS = {
    name: _loader(kind)
    for name, kind in typing.get_type_hints(Transfer).items()
    if name in TRANSFER_FIELDS
}


def _column(name: str) -> str:
    return f'"{name}"'


_INSERT = (
    f"INSERT INTO transfers ({', '.join(map(_column, TRANSFER_FIELDS))}) "  # noqa: S608 - fields
    f"VALUES ({', '.join('?' for _ in TRANSFER_FIELDS)})"
)
_UPDATE = (
    f"UPDATE transfers SET {', '.join(f'{_column(n)} = ?' for n in CHANGING_FIELDS)} "  # noqa: S608
    "WHERE id = ?"
)


class Journal:
    """A SQLite file shared by every score-tui process of the user (WAL, short transactions)."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        self.path = path
        self._lock = threading.RLock()
        self._db = sqlite3.connect(path, timeout=30, check_same_thread=False, isolation_level=None)
        self._db.row_factory = sqlite3.Row
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute("PRAGMA foreign_keys=ON")
        self._db.executescript(SCHEMA)
        self._add_missing_columns()
        self._pending: list[tuple[str, list[tuple[object, ...]]]] = []
        self._pending_rows = 0
        self._wake = threading.Condition(self._lock)
        self._closed = False
        self._flusher = threading.Thread(target=self._flush_soon, name="journal", daemon=True)
        self._flusher.start()

    def close(self) -> None:
        with self._wake:
            self._closed = True
            self._wake.notify()
        self._flusher.join()
        with self._lock:
            self._flush()
            self._db.close()

    def flush(self) -> None:
        """Commit every write made so far."""
        with self._lock:
            self._flush()

    def write_now(self, *writes: tuple[str, list[tuple[object, ...]]]) -> None:
        """Make writes (statement, rows) and commit them, in one transaction with every pending
        one, before returning: for what must outlive a kill right after it is made (what Song
        was just asked to register)."""
        with self._lock:
            for sql, rows in writes:
                self._write(sql, rows)
            self._flush()

    def query(self, sql: str, args: tuple[object, ...] = ()) -> list[sqlite3.Row]:
        """Rows of a read, after every write made so far."""
        with self._lock:
            self._flush()
            return self._db.execute(sql, args).fetchall()

    def _write(self, sql: str, rows: list[tuple[object, ...]]) -> None:
        with self._wake:
            self._pending.append((sql, rows))
            self._pending_rows += len(rows)
            if self._pending_rows >= FLUSH_COUNT:
                self._flush()
            elif len(self._pending) == 1:
                self._wake.notify()

    def _flush(self) -> None:
        """Commit the pending writes in one transaction (the lock is held)."""
        if not self._pending:
            return
        self._db.execute("BEGIN IMMEDIATE")
        try:
            for sql, rows in self._pending:
                self._db.executemany(sql, rows)
            self._db.execute("COMMIT")
        except BaseException:
            # Nothing is dropped: the writes stay pending for the next flush.
            if self._db.in_transaction:
                self._db.execute("ROLLBACK")
            raise
        self._pending, self._pending_rows = [], 0

    def _flush_soon(self) -> None:
        with self._wake:
            while not self._closed:
                if not self._pending:
                    self._wake.wait()
                    continue
                self._wake.wait(FLUSH_SECONDS)
                try:
                    self._flush()
                except sqlite3.Error as error:
                    # A locked or full disk: the next flush (or the caller's) tries again.
                    log.warning("journal %s: writes not committed yet: %s", self.path, error)
                    self._wake.wait(FLUSH_SECONDS * 10)

    def _add_missing_columns(self) -> None:
        """Journals written by an earlier version lack the newer columns: add them."""
        present = {row["name"] for row in self._db.execute("PRAGMA table_info(transfers)")}
        for column, declaration in ADDED_COLUMNS.items():
            if column not in present:
                self._db.execute(f"ALTER TABLE transfers ADD COLUMN {column} {declaration}")

    def add(self, transfer: Transfer) -> None:
        transfer.created = transfer.updated = time.time()
        values = tuple(_stored(getattr(transfer, name)) for name in TRANSFER_FIELDS)
        self._write(_INSERT, [values])

    def save(self, transfer: Transfer) -> None:
        """Write the fields that change while a transfer runs."""
        transfer.updated = time.time()
        values = tuple(_stored(getattr(transfer, name)) for name in CHANGING_FIELDS)
        self._write(_UPDATE, [(*values, transfer.id)])

    def set_parts(self, transfer_id: str, parts: Iterable[PartRecord]) -> None:
        """Replace the part layout (a new upload, or a download whose spec changed)."""
        self._write("DELETE FROM parts WHERE transfer_id = ?", [(transfer_id,)])
        self._write(
            'INSERT INTO parts (transfer_id, number, "offset", size, done, md5, etag) '
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            [(transfer_id, p.number, p.offset, p.size, int(p.done), p.md5, p.etag) for p in parts],
        )

    def part_done(self, transfer_id: str, part: PartRecord) -> None:
        self._write(
            "UPDATE parts SET done = 1, md5 = ?, etag = ? WHERE transfer_id = ? AND number = ?",
            [(part.md5, part.etag, transfer_id, part.number)],
        )

    def parts_undone(self, transfer_id: str, numbers: Iterable[int]) -> None:
        self._write(
            "UPDATE parts SET done = 0, md5 = NULL, etag = NULL "
            "WHERE transfer_id = ? AND number = ?",
            [(transfer_id, n) for n in numbers],
        )

    def parts(self, transfer_id: str) -> list[PartRecord]:
        with self._lock:
            self._flush()
            rows = self._db.execute(
                'SELECT number, "offset", size, done, md5, etag FROM parts '
                "WHERE transfer_id = ? ORDER BY number",
                (transfer_id,),
            ).fetchall()
        return [
            PartRecord(r["number"], r["offset"], r["size"], bool(r["done"]), r["md5"], r["etag"])
            for r in rows
        ]

    def get(self, transfer_id: str) -> Transfer | None:
        found = self._select("WHERE t.id = ?", (transfer_id,))
        return found[0] if found else None

    def transfers(self, states: Iterable[State] | None = None) -> list[Transfer]:
        if states is None:
            return self._select("", ())
        wanted = [s.value for s in states]
        marks = ", ".join("?" for _ in wanted)
        return self._select(f"WHERE t.state IN ({marks})", tuple(wanted))

    def unfinished(
        self, direction: Direction, server_url: str, object_id: str, path: str
    ) -> Transfer | None:
        """The journal's unfinished transfer of this object to or from this path, if any."""
        found = self._select(
            "WHERE t.direction = ? AND t.server_url = ? AND t.object_id = ? AND t.path = ? "
            "AND t.state NOT IN ('done', 'cancelled')",
            (direction.value, server_url, object_id, path),
        )
        return found[-1] if found else None

    def uploaded(self, server_url: str, object_id: str) -> bool:
        """Whether an upload of the object to this broker finished (verified and finalized)."""
        rows = self.query(
            "SELECT 1 FROM transfers WHERE direction = 'upload' AND server_url = ? "
            "AND object_id = ? AND state = 'done' LIMIT 1",
            (server_url, object_id),
        )
        return bool(rows)

    def uploaders(self, object_id: str, upload_id: str) -> list[str]:
        """Ids of the journal's transfers that started that upload at the server."""
        with self._lock:
            self._flush()
            rows = self._db.execute(
                "SELECT id FROM transfers WHERE object_id = ? AND upload_id = ?",
                (object_id, upload_id),
            ).fetchall()
        return [row["id"] for row in rows]

    def _select(self, where: str, args: tuple[object, ...]) -> list[Transfer]:
        columns = ", ".join(f"t.{_column(name)}" for name in TRANSFER_FIELDS)
        query = (
            f"SELECT {columns}, COALESCE(SUM(CASE WHEN p.done THEN p.size END), 0) AS bytes_done "  # noqa: S608
            f"FROM transfers t LEFT JOIN parts p ON p.transfer_id = t.id {where} "
            "GROUP BY t.id ORDER BY t.created, t.rowid"
        )
        with self._lock:
            self._flush()
            rows = self._db.execute(query, args).fetchall()
        return [_transfer(row) for row in rows]


def _transfer(row: sqlite3.Row) -> Transfer:
    values = {
        name: row[name] if (load := _LOADERS[name]) is None else load(row[name])
        for name in TRANSFER_FIELDS
    }
    return Transfer(**values, bytes_done=row["bytes_done"])  # type: ignore[arg-type]
