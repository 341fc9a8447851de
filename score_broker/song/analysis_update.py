"""Song's analysis updates: `PUT` replaces an analysis' dynamic data (its type's fields, with
`analysisType`), `PATCH` merges a JSON merge patch (RFC 7386) into it. Either is validated
against Song's update schema with the analysis type's fields; samples and files never change."""

from __future__ import annotations

import copy
import itertools
from typing import Any

from jsonschema import Draft7Validator

from score_broker.song.errors import SongError, shown

#: Song's analysisUpdate.json: what an update may not touch, and its analysisType.
UPDATE_BASE: dict[str, Any] = {
    "type": "object",
    "required": ["analysisType"],
    "properties": {
        "analysisId": {"not": {}},
        "studyId": {"not": {}},
        "analysisState": {"not": {}},
        "analysisType": {
            "type": "object",
            "required": ["name"],
            "properties": {"name": {"type": "string"}, "version": {"type": ["integer", "null"]}},
        },
        "analysisTypeId": {"not": {}},
        "samples": {"not": {}},
        "files": {"not": {}},
    },
}
REPORTED_PROBLEMS = 10


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386: objects merge key by key, null removes a key, anything else replaces."""
    if not isinstance(patch, dict):
        return patch
    merged = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            merged.pop(key, None)
        else:
            merged[key] = merge_patch(merged.get(key), value)
    return merged


def update_schema(type_schema: dict[str, Any]) -> dict[str, Any]:
    """Song's renderUpdateJsonSchema: the base with the type's required fields and properties."""
    schema = copy.deepcopy(UPDATE_BASE)
    schema["required"] = list(
        dict.fromkeys([*schema["required"], *type_schema.get("required", [])])
    )
    schema["properties"].update(copy.deepcopy(type_schema.get("properties", {})))
    return schema


def check_update(request: Any, type_schema: dict[str, Any]) -> None:
    """schema.violation (400) with the first problems, as Song's validateUpdateRequest."""
    validator = Draft7Validator(update_schema(type_schema))
    problems = list(itertools.islice(validator.iter_errors(request), REPORTED_PROBLEMS))
    if problems:
        text = ", ".join(f"#/{'/'.join(map(str, p.path))}: {shown(p.message)}" for p in problems)
        raise SongError("schema.violation", 400, text, "AnalysisService")
