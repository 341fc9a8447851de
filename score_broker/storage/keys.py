"""Turning store keys into paths that cannot leave their directory."""

from __future__ import annotations

import functools
import os
from pathlib import Path

from score_broker.errors import InvalidRequest

MAX_KEY_LENGTH = 1024


def key_to_path(base: Path, key: str) -> Path:
    """The path of `key` under `base`; InvalidRequest for any key that could escape it.

    Keys are `/`-separated segments; empty, `.` and `..` segments, backslashes and control
    characters are refused, and so is a key through a symbolic link.
    """
    if not key or len(key) > MAX_KEY_LENGTH or "\\" in key or any(ord(c) < 32 for c in key):
        raise InvalidRequest(f"Invalid object key {key!r}.")
    segments = key.split("/")
    if any(segment in ("", ".", "..") for segment in segments):
        raise InvalidRequest(f"Invalid object key {key!r}: empty, '.' or '..' path segment.")
    # No segment may be a symbolic link: one could lead out of the store. (Checking each
    # segment costs one lstat; resolving the whole path with realpath cost ten.)
    place = _resolved(str(base))
    for segment in segments[:-1]:
        place = os.path.join(place, segment)
        if os.path.islink(place):
            raise InvalidRequest(f"Invalid object key {key!r}: it leaves the store.")
    path = base.joinpath(*segments)
    if os.path.islink(path):
        raise InvalidRequest(f"Invalid object key {key!r}: it leaves the store.")
    return path


@functools.lru_cache(maxsize=16)
def _resolved(base: str) -> str:
    return os.path.realpath(base)
