"""Turning store keys into paths that cannot leave their directory."""

from __future__ import annotations

import os
from pathlib import Path

from score_broker.errors import InvalidRequest

MAX_KEY_LENGTH = 1024


def key_to_path(base: Path, key: str) -> Path:
    """The path of `key` under `base`; InvalidRequest for any key that could escape it.

    Keys are `/`-separated segments; empty, `.` and `..` segments, backslashes and control
    characters are refused, and the result is checked to lie inside `base` after resolving links.
    """
    if not key or len(key) > MAX_KEY_LENGTH or "\\" in key or any(ord(c) < 32 for c in key):
        raise InvalidRequest(f"Invalid object key {key!r}.")
    segments = key.split("/")
    if any(segment in ("", ".", "..") for segment in segments):
        raise InvalidRequest(f"Invalid object key {key!r}: empty, '.' or '..' path segment.")
    path = base.joinpath(*segments)
    root = os.path.realpath(base)
    if os.path.commonpath([root, os.path.realpath(path)]) != root:
        raise InvalidRequest(f"Invalid object key {key!r}: it leaves the store.")
    return path
