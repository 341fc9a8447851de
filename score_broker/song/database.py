"""The embedded Song's stored values: its dates, its JSON columns, its seeded analysis types.

The tables are in `score_broker.database.migrations`."""

from __future__ import annotations

import json
import logging
from datetime import datetime
from typing import Any

from score_broker.database.connection import Database
from score_broker.song.schemas import SEEDED_TYPES

log = logging.getLogger(__name__)


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


def seed_analysis_types(database: Database) -> None:
    """The analysis types every Song has (version 1 each), unless already there."""
    with database.transaction() as tx:
        for name, schema in SEEDED_TYPES:
            tx.execute(
                "INSERT INTO analysis_schema (name, version, schema, file_types, created_at) "
                "VALUES (?, 1, ?, '[]', ?) ON CONFLICT (name, version) DO NOTHING",
                (name, json.dumps(schema), now_text()),
            )
