"""One interface over SQLite and PostgreSQL for the keys and the embedded Song.

SQL is written once, with `?` placeholders and statements both dialects accept; `PostgresDatabase`
translates the placeholders. Every write transaction is serialized, as SQLite's `BEGIN IMMEDIATE`
does on one machine: on PostgreSQL a transaction-level advisory lock taken first makes brokers
on several machines take turns, so a check made inside a transaction (a duplicate MD5, an
analysis's state) still holds when the transaction commits.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlsplit, urlunsplit

from score_broker.errors import DatabaseUnavailable, InvalidRequest

log = logging.getLogger(__name__)

#: The advisory lock every write transaction takes on PostgreSQL (any fixed number).
WRITE_LOCK = 7_304_614


class StoredRow(Protocol):
    """A row read by position or by column name (`sqlite3.Row`, or `Row` below)."""

    def __getitem__(self, key: int | str, /) -> Any: ...

    def keys(self) -> list[str]: ...

    def __iter__(self) -> Iterator[Any]: ...


class Cursor(Protocol):
    """What both drivers' cursors offer and the broker uses."""

    @property
    def rowcount(self) -> int: ...

    def fetchone(self) -> Any: ...

    def fetchall(self) -> list[Any]: ...

    def __iter__(self) -> Iterator[Any]: ...


class Transaction(Protocol):
    """What a write transaction offers: `sqlite3.Connection`, or a PostgreSQL connection's."""

    def execute(self, sql: str, parameters: Sequence[Any] = (), /) -> Cursor: ...

    def executemany(self, sql: str, rows: Sequence[Sequence[Any]], /) -> Any: ...


class Database(Protocol):
    """A database the broker's stores run on."""

    #: "sqlite" or "postgresql": which DDL the migrations use.
    dialect: str

    def transaction(self) -> AbstractContextManager[Transaction]:
        """A write transaction, atomic, serialized with every other one."""
        ...

    def query(self, sql: str, parameters: Sequence[Any] = ()) -> list[StoredRow]: ...

    def tables(self) -> set[str]:
        """The names of the tables there are."""
        ...

    def describe(self) -> str:
        """Where the database is, for messages (never a password)."""
        ...

    def close(self) -> None: ...


def checked(parameters: Sequence[Any]) -> tuple[Any, ...]:
    """The parameters, unless a text holds NUL: PostgreSQL refuses it, so no stored value holds
    one, on either backend; the caller gets a 400 rather than a 500 or a silent miss."""
    for value in parameters:
        if isinstance(value, str) and "\x00" in value:
            raise InvalidRequest(
                f"The value {value[:40]!r} holds a NUL character (\\x00); remove it and retry."
            )
    return tuple(parameters)


class SqliteDatabase:
    """One SQLite file (0600) with one connection guarded by a lock."""

    dialect = "sqlite"

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        if not path.exists():
            os.close(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600))
        os.chmod(path, 0o600)
        self.path = path
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._db.row_factory = sqlite3.Row
        self._db.execute("PRAGMA journal_mode = WAL")
        self._db.execute("PRAGMA busy_timeout = 5000")
        self._db.execute("PRAGMA foreign_keys = ON")
        self._lock = threading.RLock()

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

    def query(self, sql: str, parameters: Sequence[Any] = ()) -> list[StoredRow]:
        with self._lock:
            return self._db.execute(sql, checked(parameters)).fetchall()

    def tables(self) -> set[str]:
        return {row[0] for row in self.query("SELECT name FROM sqlite_master WHERE type = 'table'")}

    def describe(self) -> str:
        return str(self.path)

    def close(self) -> None:
        with self._lock:
            self._db.close()


class Row(tuple[Any, ...]):
    """A PostgreSQL row read by position or by column name, as `sqlite3.Row` is."""

    _names: dict[str, int]

    def __getitem__(self, key: Any) -> Any:
        if isinstance(key, str):
            return super().__getitem__(self._names[key])
        return super().__getitem__(key)

    def keys(self) -> list[str]:
        return list(self._names)


def _row_factory(cursor: Any) -> Any:
    names = {column.name: i for i, column in enumerate(cursor.description or ())}

    def make(values: Sequence[Any]) -> Row:
        row = Row(values)
        row._names = names
        return row

    return make


def postgres_sql(sql: str) -> str:
    """`?` placeholders as psycopg's `%s` (and a literal `%` doubled)."""
    return sql.replace("%", "%%").replace("?", "%s")


def redacted(url: str) -> str:
    """A database URL without its password."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.rsplit("@", 1)[1]
    user = parts.username or ""
    return urlunsplit(parts._replace(netloc=f"{user}:***@{netloc}"))


class _PostgresTransaction:
    def __init__(self, connection: Any) -> None:
        self._connection = connection

    def execute(self, sql: str, parameters: Sequence[Any] = ()) -> Any:
        return self._connection.execute(postgres_sql(sql), checked(parameters))

    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        with self._connection.cursor() as cursor:
            cursor.executemany(postgres_sql(sql), rows)


class PostgresDatabase:
    """A psycopg 3 connection pool on one PostgreSQL database."""

    dialect = "postgresql"

    def __init__(self, url: str, max_connections: int = 10, timeout: float = 5.0) -> None:
        import psycopg
        from psycopg_pool import ConnectionPool, PoolTimeout

        self.url = url
        #: What means the server is out of reach (not a refused statement).
        self._unreachable = (psycopg.OperationalError, PoolTimeout)
        # One connection first: its error says why (the pool would only retry, then time out).
        try:
            psycopg.connect(url, connect_timeout=max(1, int(timeout))).close()
        except psycopg.Error as error:
            raise DatabaseUnavailable(
                f"Cannot connect to the database {redacted(url)} ([database] url): "
                f"{_first_line(error).removeprefix('connection failed: ')}"
            ) from None
        self._pool = ConnectionPool(
            url,
            min_size=1,
            max_size=max_connections,
            timeout=timeout,
            # Autocommit outside `transaction()`; no server-side prepared statements, so a
            # transaction-mode pooler (PgBouncer) in front of the server works.
            kwargs={"autocommit": True, "row_factory": _row_factory, "prepare_threshold": None},
            name="score-broker",
            # A connection the server dropped (a restart, a failover) is replaced before use.
            check=ConnectionPool.check_connection,
            open=True,
        )

    @contextmanager
    def transaction(self) -> Iterator[_PostgresTransaction]:
        with (
            self._reachable(),
            self._pool.connection() as connection,
            connection.transaction(),
        ):
            connection.execute("SELECT pg_advisory_xact_lock(%s)", (WRITE_LOCK,))
            yield _PostgresTransaction(connection)

    def query(self, sql: str, parameters: Sequence[Any] = ()) -> list[StoredRow]:
        with self._reachable(), self._pool.connection() as connection:
            cursor: Any = connection.execute(postgres_sql(sql), checked(parameters))
            rows: list[StoredRow] = cursor.fetchall()
            return rows

    @contextmanager
    def _reachable(self) -> Iterator[None]:
        """A lost server is a 503 the caller can retry, never a 500."""
        try:
            yield
        except self._unreachable as error:
            log.warning("the database %s is unavailable: %s", self.describe(), error)
            raise DatabaseUnavailable(
                "The broker's database is unavailable; try again in a moment."
            ) from None

    def tables(self) -> set[str]:
        rows = self.query(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema()"
        )
        return {row[0] for row in rows}

    def describe(self) -> str:
        return redacted(self.url)

    def close(self) -> None:
        self._pool.close()


def _first_line(error: BaseException) -> str:
    text = str(error).strip() or type(error).__name__
    return text.splitlines()[0]
