"""Reading a JSON body within the broker's [limits], before anything is validated or stored.

Song keeps what it accepts and serves it back as JSON, so a value it could not store (an integer
beyond 64 bits; a NUL character, which PostgreSQL refuses) or not serve back (a lone surrogate,
which UTF-8 cannot carry; NaN) is refused here, as is anything nested, long or numerous beyond
the limits. Each check stops at the first value that fails it, so a huge bad body costs no more
than reading it once.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

from score_broker.config import LimitSettings
from score_broker.song.errors import SongError, shown

INT64 = range(-(2**63), 2**63)
_SURROGATE = re.compile("[\ud800-\udfff]")

KeyPath = tuple[Any, ...] | None  # (parent path, key): built cheaply, spelled out only on error


def _spelled(path: KeyPath) -> str:
    keys: list[str] = []
    while path is not None:
        path, key = path
        keys.append(str(key))
    return "/".join(reversed(keys)) or "the body"


def _violation(path: KeyPath, text: str) -> SongError:
    return SongError(
        "schema.violation", 400, f"{shown(_spelled(path))}: {text}", "ValidationService"
    )


def _no_constant(name: str) -> None:
    raise ValueError(f"{name} is not a JSON number")


def _parse(body: bytes, limits: LimitSettings) -> Any:
    try:
        return json.loads(body, parse_constant=_no_constant)
    except RecursionError:
        raise _too_deep(None, limits) from None
    except ValueError as error:
        raise SongError(
            "payload.parsing",
            422,
            f"The body is not valid JSON ({shown(error)}); fix and resend it",
        ) from None


def _too_deep(path: KeyPath, limits: LimitSettings) -> SongError:
    return _violation(
        path,
        f"the JSON nests deeper than {limits.max_json_depth} levels ([limits] max_json_depth); "
        "flatten it",
    )


def _check_text(text: str, path: KeyPath, limits: LimitSettings) -> None:
    if len(text) > limits.max_string_length:
        raise _violation(
            path,
            f"a text of {len(text):,} characters is longer than {limits.max_string_length:,} "
            "([limits] max_string_length); shorten it",
        )
    if "\x00" in text:
        raise _violation(
            path, "the text holds a NUL character (\\u0000), which Song cannot store; remove it"
        )
    if not text.isascii() and (found := _SURROGATE.search(text)):
        raise _violation(
            path,
            f"the text holds a lone surrogate (\\u{ord(found.group()):04x}), which is not "
            "Unicode; send valid UTF-8",
        )


def _check_number(number: int | float, path: KeyPath) -> None:
    if isinstance(number, float):
        if not math.isfinite(number):
            raise _violation(path, "the number is too large for a 64-bit float; send a smaller one")
    elif number not in INT64:
        raise _violation(
            path, f"{shown(number)} is not a 64-bit integer (-2^63 to 2^63-1); send a smaller one"
        )


def check_values(value: Any, limits: LimitSettings) -> None:
    """Raises schema.violation (400) at the first value beyond the limits or not storable."""
    stack: list[tuple[Any, int, KeyPath]] = [(value, 1, None)]
    while stack:
        item, depth, path = stack.pop()
        if isinstance(item, dict | list):
            if depth > limits.max_json_depth:
                raise _too_deep(path, limits)
            pairs = item.items() if isinstance(item, dict) else enumerate(item)
            for key, child in pairs:
                if isinstance(key, str):
                    _check_text(key, (path, key), limits)
                stack.append((child, depth + 1, (path, key)))
        elif isinstance(item, str):
            _check_text(item, path, limits)
        elif isinstance(item, int | float) and not isinstance(item, bool):
            _check_number(item, path)


def read_json(body: bytes, limits: LimitSettings) -> Any:
    """The body's JSON, every value within the limits; payload.parsing (422) if not JSON."""
    value = _parse(body, limits)
    check_values(value, limits)
    return value


def read_submission(body: bytes, limits: LimitSettings) -> Any:
    """As `read_json`, counting the files first, so a huge file list is refused at once."""
    value = _parse(body, limits)
    files = value.get("files") if isinstance(value, dict) else None
    if isinstance(files, list) and len(files) > limits.max_files_per_analysis:
        raise SongError(
            "schema.violation",
            400,
            f"The payload has {len(files):,} files; an analysis may hold at most "
            f"{limits.max_files_per_analysis:,} ([limits] max_files_per_analysis): split it "
            "into several analyses",
            "ValidationService",
        )
    check_values(value, limits)
    return value
