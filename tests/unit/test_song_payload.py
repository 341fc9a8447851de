"""Reading Song bodies within [limits], and writing answers that always render."""

from __future__ import annotations

import json
from typing import Any

import pytest

from score_broker.config import LimitSettings
from score_broker.song.errors import SongError, shown
from score_broker.song.payload import read_json, read_submission
from score_broker.song.wire import RENDER_DEPTH, wire_json

LIMITS = LimitSettings(max_json_depth=8, max_string_length=100, max_files_per_analysis=3)


def refusal(body: bytes | str) -> SongError:
    raw = body.encode() if isinstance(body, str) else body
    with pytest.raises(SongError) as caught:
        read_submission(raw, LIMITS)
    return caught.value


def nested(levels: int) -> str:
    return "[" * levels + "]" * levels


@pytest.mark.parametrize(
    ("body", "error_id", "mentions"),
    [
        ('{"a": "\\ud800"}', "schema.violation", "a: the text holds a lone surrogate (\\ud800)"),
        ('{"\\udfff": 1}', "schema.violation", "lone surrogate"),
        ('{"n": [1, 9223372036854775808]}', "schema.violation", "n/1: 9223372036854775808"),
        ('{"n": -9223372036854775809}', "schema.violation", "not a 64-bit integer"),
        ('{"f": 1e400}', "schema.violation", "f: the number is too large"),
        ('{"f": NaN}', "payload.parsing", "NaN is not a JSON number"),
        ('{"s": "' + "x" * 101 + '"}', "schema.violation", "max_string_length"),
        (nested(9), "schema.violation", "0/0/0/0/0/0/0/0: the JSON nests deeper than 8"),
        (nested(100_000), "schema.violation", "the body: the JSON nests deeper than 8"),
        ('{"files": [1, 2, 3, 4]}', "schema.violation", "4 files"),
        (b"\xff{}", "payload.parsing", "not valid JSON"),
    ],
)
def test_refusals(body: bytes | str, error_id: str, mentions: str) -> None:
    error = refusal(body)
    assert error.error_id == error_id
    assert mentions in error.text
    assert error.status == (422 if error_id == "payload.parsing" else 400)


def test_what_fits_is_read() -> None:
    body = {"a": "\U0001f600", "n": [2**63 - 1, -(2**63)], "deep": json.loads(nested(7))}
    assert read_json(json.dumps(body).encode(), LIMITS) == body
    assert read_submission(b'{"files": [1, 2, 3]}', LIMITS) == {"files": [1, 2, 3]}


def test_echoed_values_are_short_and_encodable() -> None:
    assert shown("x" * 1000) == "x" * 80 + "…"
    assert shown("a\ud800") == "a\\ud800"
    assert shown(None) == "None"


def deep_list(levels: int) -> list[Any]:
    value: list[Any] = []
    for _ in range(levels):
        value = [value]
    return value


def test_answers_always_render() -> None:
    assert wire_json({"a": "é"}) == '{"a":"é"}'.encode()
    assert json.loads(wire_json({"a": "\ud800", "n": float("nan")})) == {"a": "\ud800", "n": None}
    rendered = json.loads(wire_json({"deep": deep_list(5000), "kept": 1}))
    assert rendered["kept"] == 1
    depth, value = 0, rendered["deep"]
    while value:
        depth, value = depth + 1, value[0]
    assert depth == RENDER_DEPTH - 1
