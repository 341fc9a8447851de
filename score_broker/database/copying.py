"""`score-broker db copy`: a single-machine broker's SQLite files into PostgreSQL, row for row."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from score_broker.database.connection import Database
from score_broker.database.migrations import KEYS, SONG
from score_broker.database.opening import FILES
from score_broker.errors import BrokerError

#: Each component's tables, parents before children.
TABLES = {
    KEYS: ("api_key",),
    SONG: (
        "study",
        "analysis_schema",
        "analysis",
        "analysis_state_change",
        "file",
        "song_delivery",
    ),
}
#: Tables with generated ids, whose sequence must continue after the copied ones.
GENERATED_IDS = ("analysis_schema", "analysis_state_change", "song_delivery")
#: Tables whose rows mean the target is in use (the seeded analysis types do not).
IN_USE = ("api_key", "study", "analysis")


class CopyRefused(BrokerError):
    status = 400


@dataclass(frozen=True, slots=True)
class Copied:
    table: str
    rows: int


def sources(path: Path) -> dict[str, Path]:
    """The SQLite files to copy: a data directory's, or one file (named as the broker names it)."""
    if path.is_dir():
        found = {c: path / f for c, f in FILES.items() if (path / f).is_file()}
        if not found:
            raise CopyRefused(
                f"{path} holds neither {' nor '.join(FILES.values())}: give the data directory "
                "of the broker to copy (its [server] data_directory) or one of those files."
            )
        return found
    for component, name in FILES.items():
        if path.name == name and path.is_file():
            return {component: path}
    raise CopyRefused(
        f"{path} is not a broker's data directory nor one of its files "
        f"({', '.join(FILES.values())})."
    )


def copy(
    files: dict[str, Path], target: Database, report: Callable[[Copied], None]
) -> list[Copied]:
    """Copy every row of the files into the target, in one transaction, then check the counts."""
    readers = {c: _read_only(p) for c, p in files.items()}
    try:
        present = target.tables()
        in_use = [
            table
            for table in IN_USE
            if table in present and target.query(f"SELECT 1 FROM {table} LIMIT 1")  # noqa: S608
        ]
        if in_use:
            raise CopyRefused(
                f"The database {target.describe()} already holds rows of {', '.join(in_use)}: "
                "copy into a database that no broker has used yet (run `db upgrade` on an "
                "empty one)."
            )
        done: list[Copied] = []
        with target.transaction() as tx:
            tx.execute("DELETE FROM analysis_schema")  # only seeded types; the source's follow
            for component, reader in readers.items():
                present = _tables(reader)
                for table in TABLES[component]:
                    if table not in present:
                        continue  # an older broker's file
                    columns = _common_columns(reader, target, table)
                    rows = reader.execute(
                        f"SELECT {', '.join(columns)} FROM {table}"  # noqa: S608
                    ).fetchall()
                    marks = ", ".join("?" for _ in columns)
                    tx.executemany(
                        f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})",  # noqa: S608
                        [tuple(row) for row in rows],
                    )
                    done.append(Copied(table, len(rows)))
            for table in GENERATED_IDS:
                sequence = f"pg_get_serial_sequence('{table}', 'id')"
                highest = f"(SELECT MAX(id) FROM {table})"  # noqa: S608
                tx.execute(f"SELECT setval({sequence}, COALESCE({highest}, 0) + 1, false)")
        for copied in done:
            stored = int(target.query(f"SELECT COUNT(*) FROM {copied.table}")[0][0])  # noqa: S608
            if stored != copied.rows:
                raise CopyRefused(
                    f"{copied.table}: {copied.rows} rows read but {stored} stored; "
                    "the target was written to during the copy: stop every broker and copy again."
                )
            report(copied)
        return done
    finally:
        for reader in readers.values():
            reader.close()


def _read_only(path: Path) -> sqlite3.Connection:
    try:
        return sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    except sqlite3.Error as error:
        raise CopyRefused(f"Cannot open {path}: {error}.") from None


def _tables(reader: sqlite3.Connection) -> set[str]:
    rows = reader.execute("SELECT name FROM sqlite_master WHERE type = 'table'").fetchall()
    return {row[0] for row in rows}


def _common_columns(reader: sqlite3.Connection, target: Database, table: str) -> list[str]:
    source = [row[1] for row in reader.execute(f"PRAGMA table_info({table})").fetchall()]
    wanted = {
        row[0]
        for row in target.query(
            "SELECT column_name FROM information_schema.columns "
            "WHERE table_schema = current_schema() AND table_name = ?",
            (table,),
        )
    }
    return [column for column in source if column in wanted]
