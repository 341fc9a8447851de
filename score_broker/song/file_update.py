"""Song's file update (`PUT /studies/{s}/files/{objectId}`, FileModificationService).

The request may change `fileSize` and `fileMd5sum` (a content update, allowed only while the
analysis is UNPUBLISHED) and `fileAccess`, `dataType` and `info` (a metadata update); what it
leaves out stays. A SUPPRESSED analysis' files do not change. The answer is Song's
FileUpdateResponse, with the file as it was.
"""

from __future__ import annotations

import itertools
import json
from typing import Any

from jsonschema import Draft7Validator

from score_broker.song.errors import SongError, shown

UPDATE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "fileSize": {"type": "integer", "exclusiveMinimum": 0, "maximum": 2**63 - 1},
        "fileAccess": {"type": "string", "enum": ["open", "controlled"]},
        "dataType": {"type": "string"},
        "fileMd5sum": {"type": "string", "pattern": "^[a-fA-F0-9]{32}$"},
        "info": {"type": "object"},
    },
}
CONTENT = ("fileSize", "fileMd5sum")
METADATA = ("fileAccess", "dataType", "info")
_VALIDATOR = Draft7Validator(UPDATE_SCHEMA)


def checked_request(object_id: str, request: Any) -> dict[str, Any]:
    """The request if it is a valid FileUpdateRequest; `invalid.file.update.request` if not."""
    problems = [] if isinstance(request, dict) else ["the body must be a JSON object"]
    if not problems:
        found = itertools.islice(_VALIDATOR.iter_errors(request), 5)
        problems = [f"{'/'.join(map(str, e.path)) or 'body'}: {shown(e.message)}" for e in found]
    if problems:
        raise SongError(
            "invalid.file.update.request",
            400,
            f"The file update request for objectId '{shown(object_id)}' failed with the "
            f"following errors: {'; '.join(problems)}",
            "FileModificationService",
        )
    return dict(request)


def update_type(original: dict[str, Any], request: dict[str, Any]) -> str:
    """Song's FileUpdateTypes: a changed size or MD5 first, then changed metadata."""

    def changed(names: tuple[str, ...]) -> bool:
        return any(
            name in request and request[name] is not None and request[name] != original.get(name)
            for name in names
        )

    if changed(CONTENT):
        return "CONTENT_UPDATE"
    if changed(METADATA):
        return "METADATA_UPDATE"
    return "NO_UPDATE"


def illegal(object_id: str, analysis_id: str, text: str) -> SongError:
    return SongError(
        "illegal.file.update.request",
        400,
        f"The file with objectId '{object_id}' and analysisId '{analysis_id}' cannot be "
        f"updated since {text}",
        "FileModificationService",
    )


def stored_info(request: dict[str, Any], original: dict[str, Any]) -> str | None:
    info = request["info"] if request.get("info") is not None else original.get("info")
    return json.dumps(info) if info else None
