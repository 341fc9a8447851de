"""Checks of caller-supplied identifiers and values, each failing with a one-line reason."""

from __future__ import annotations

import re

from score_broker.checksums import parse_md5
from score_broker.errors import InvalidRequest
from score_broker.services.planner import MAX_OBJECT_SIZE

_UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
#: Stores' upload ids are far shorter; the state directory `<object id>_<upload id>` must stay
#: within a file name's 255 bytes on the local store.
_UPLOAD_ID = re.compile(r"[A-Za-z0-9._~+=-]{1,200}")


def object_id(value: str) -> str:
    """An object id must be a UUID, as Song assigns them."""
    if not _UUID.fullmatch(value):
        raise InvalidRequest(f"Object id {value[:80]!r} is not a valid UUID.")
    return value


def upload_id(value: str) -> str:
    if not _UPLOAD_ID.fullmatch(value):
        raise InvalidRequest(
            f"Upload id {value[:80]!r} is malformed; use the uploadId of the upload's spec."
        )
    return value


def md5_hex(value: str, what: str = "md5") -> str:
    """An MD5 as 32 hex characters (lower-cased); base64 of 16 bytes is also accepted."""
    parsed = parse_md5(value)
    if parsed is None:
        raise InvalidRequest(f"{what} {value[:80]!r} is not an MD5 (32 hex characters).")
    return parsed


def file_size(value: int) -> int:
    if value <= 0:
        raise InvalidRequest("fileSize must be positive: uploads of empty files are not permitted.")
    if value > MAX_OBJECT_SIZE:
        raise InvalidRequest(f"fileSize {value} exceeds the 5 TiB object size limit.")
    return value
