"""Analysis types: the seeded schemas, listed, read and resolved for a submission."""

from __future__ import annotations

import json
import sqlite3
from typing import Any

from score_broker.song.database import SongDatabase
from score_broker.song.errors import SongError, malformed, shown
from score_broker.song.schemas import render


class AnalysisTypes:
    """Reads the `analysis_schema` table as Song's `/schemas` endpoints show it."""

    def __init__(self, database: SongDatabase) -> None:
        self.db = database

    def rows(self, name: str) -> list[sqlite3.Row]:
        return self.db.query(
            "SELECT * FROM analysis_schema WHERE name = ? ORDER BY version", (name,)
        )

    def _analysis_type_json(
        self, row: sqlite3.Row, hide_schema: bool = False, unrendered: bool = False
    ) -> dict[str, Any]:
        wire: dict[str, Any] = {
            "name": row["name"],
            "version": row["version"],
            "createdAt": row["created_at"],
            "options": {"fileTypes": json.loads(row["file_types"])},
        }
        if not hide_schema:
            schema = json.loads(row["schema"])
            wire["schema"] = schema if unrendered else render(schema)
        return wire

    def get(self, name: str, version: int | None, unrendered_only: bool) -> dict[str, Any]:
        rows = self.rows(name)
        if version is not None:
            rows = [row for row in rows if row["version"] == version]
        if not rows:
            raise SongError(
                "analysis.type.not.found",
                404,
                f"The analysisType '{shown(name)}'"
                + (f" version {shown(version)}" if version else "")
                + " was not found",
                "AnalysisTypeService",
            )
        return self._analysis_type_json(rows[-1], unrendered=unrendered_only)

    def listing(
        self,
        names: list[str],
        versions: list[int],
        hide_schema: bool,
        unrendered_only: bool,
        offset: int,
        limit: int,
        sort: str,
        descending: bool,
    ) -> dict[str, Any]:
        if sort not in ("version", "name") or offset < 0 or limit < 0:
            raise malformed("sort must be version or name; offset and limit must not be negative")
        rows = self.db.query("SELECT * FROM analysis_schema")
        rows = [
            r
            for r in rows
            if (not names or r["name"] in names) and (not versions or r["version"] in versions)
        ]
        rows.sort(key=lambda r: (r[sort], r["name"], r["version"]), reverse=descending)
        page = rows[offset : offset + limit]
        return {
            "limit": limit,
            "offset": offset,
            "count": len(rows),
            "resultSet": [self._analysis_type_json(r, hide_schema, unrendered_only) for r in page],
        }

    def resolve(self, analysis_type: Any) -> sqlite3.Row:
        if not isinstance(analysis_type, dict) or not isinstance(analysis_type.get("name"), str):
            raise SongError(
                "schema.violation", 400, "analysisType: a name is required", "ValidationService"
            )
        name, version = analysis_type["name"], analysis_type.get("version")
        rows = self.rows(name)
        if not rows:
            raise SongError(
                "analysis.type.not.found",
                404,
                f"The analysisType '{shown(name)}' was not found",
                "AnalysisTypeService",
            )
        latest = rows[-1]
        if version is not None and version != latest["version"]:
            raise SongError(
                "analysis.type.incorrect.version",
                409,
                f"The analysisType '{shown(name)}' version {shown(version)} is not the latest "
                f"({latest['version']})",
                "AnalysisTypeService",
            )
        return latest
