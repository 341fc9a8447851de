"""Analysis types: the seeded schemas, listed, read and resolved for a submission."""

from __future__ import annotations

import json
import re
from typing import Any

from jsonschema import Draft7Validator, SchemaError

from score_broker.database.connection import Database, StoredRow
from score_broker.song.database import now_text
from score_broker.song.errors import SongError, malformed, shown
from score_broker.song.schemas import render

NAME = re.compile(r"[a-zA-Z0-9._-]+")
#: Song's word for its registration meta-schema, which no analysis type may be named.
REGISTRATION = "registration"
#: What a registered analysis type's schema must be: an object schema whose properties include
#: an `experiment` object, required, and redefine none of the fields Song sets itself.
_RESERVED = ("studyId", "analysisState", "analysisType", "analysisTypeId", "samples", "files",
             "analysisId")  # fmt: skip
REGISTRATION_SCHEMA: dict[str, Any] = {
    "$schema": "http://json-schema.org/draft-07/schema#",
    "title": "What an analysis type's schema must be to be registered",
    "type": "object",
    "required": ["type", "properties"],
    "additionalProperties": False,
    "properties": {
        "type": {"const": "object"},
        "definitions": {"type": "object"},
        "required": {
            "type": "array",
            "items": {"type": "string"},
            "uniqueItems": True,
            "contains": {"const": "experiment"},
        },
        "properties": {
            "type": "object",
            "required": ["experiment"],
            "properties": {
                **{name: {"not": {}} for name in _RESERVED},
                "experiment": {"type": "object"},
            },
        },
    },
}
_META = Draft7Validator(REGISTRATION_SCHEMA)


class AnalysisTypes:
    """Reads the `analysis_schema` table as Song's `/schemas` endpoints show it."""

    def __init__(self, database: Database) -> None:
        self.db = database

    def rows(self, name: str) -> list[StoredRow]:
        return self.db.query(
            "SELECT * FROM analysis_schema WHERE name = ? ORDER BY version", (name,)
        )

    def _analysis_type_json(
        self, row: StoredRow, hide_schema: bool = False, unrendered: bool = False
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

    def resolve(self, analysis_type: Any) -> StoredRow:
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

    def register(self, request: Any) -> dict[str, Any]:
        """Song's registration: the next version of the named type, after its schema is checked
        against the registration meta-schema and as a JSON Schema."""
        if not isinstance(request, dict):
            raise malformed("The registration must be an object with name, schema and options")
        name, schema, options = request.get("name"), request.get("schema"), request.get("options")
        if not isinstance(name, str) or not NAME.fullmatch(name):
            raise malformed(
                f"The analysisTypeId name '{shown(name)}' does not match the regex: {NAME.pattern}"
            )
        if name == REGISTRATION:
            raise SongError(
                "illegal.analysis.type.name",
                400,
                f"Cannot register an analysisType with name '{REGISTRATION}'",
                "AnalysisTypeService",
            )
        if schema is None:
            raise SongError("schema.violation", 400, "Schema field cannot be null")
        problems = [
            f"#/{'/'.join(map(str, e.path))}: {shown(e.message)}" for e in _META.iter_errors(schema)
        ]
        if problems:
            raise SongError("schema.violation", 400, ", ".join(problems))
        try:
            Draft7Validator.check_schema(schema)
        except SchemaError as error:
            raise SongError("malformed.json.schema", 400, shown(error.message)) from None
        file_types = options.get("fileTypes") if isinstance(options, dict) else None
        if file_types is not None and not (
            isinstance(file_types, list) and all(isinstance(t, str) for t in file_types)
        ):
            raise malformed("options.fileTypes must be a list of file types")
        with self.db.transaction() as db:
            version = (
                1
                + db.execute(
                    "SELECT COUNT(*) FROM analysis_schema WHERE name = ?", (name,)
                ).fetchone()[0]
            )
            db.execute(
                "INSERT INTO analysis_schema (name, version, schema, file_types, created_at) "
                "VALUES (?, ?, ?, ?, ?)",
                (name, version, json.dumps(schema), json.dumps(file_types or []), now_text()),
            )
        return self.get(name, version, unrendered_only=False)
