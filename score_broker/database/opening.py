"""Which databases a broker runs on, from `[database] url`."""

from __future__ import annotations

from pathlib import Path

from score_broker.config import DatabaseSettings
from score_broker.database.connection import Database, PostgresDatabase, SqliteDatabase
from score_broker.database.migrations import KEYS, SONG, check, upgrade

#: Each component's SQLite file in the data directory.
FILES = {KEYS: "api-keys.sqlite", SONG: "song.sqlite"}


def is_postgres(url: str) -> bool:
    return url.startswith(("postgresql://", "postgres://"))


def open_databases(
    settings: DatabaseSettings, data_directory: Path, components: tuple[str, ...]
) -> dict[str, Database]:
    """The database each component lives in, ready for use.

    SQLite: a file of its own in the data directory, brought up to date here. PostgreSQL: one
    database for all, refused unless `score-broker db upgrade` brought it up to date.
    """
    if is_postgres(settings.url):
        shared: Database = PostgresDatabase(settings.url, settings.max_connections)
        try:
            check(shared, components)
        except BaseException:
            shared.close()
            raise
        return dict.fromkeys(components, shared)
    opened: dict[str, Database] = {}
    for component in components:
        database = SqliteDatabase(data_directory / FILES[component])
        upgrade(database, (component,))
        opened[component] = database
    return opened


def open_for_upgrade(
    settings: DatabaseSettings, data_directory: Path
) -> list[tuple[Database, tuple[str, ...]]]:
    """Each database `db upgrade` works on, with its components."""
    if is_postgres(settings.url):
        return [(PostgresDatabase(settings.url, 2), (KEYS, SONG))]
    return [(SqliteDatabase(data_directory / file), (c,)) for c, file in FILES.items()]
