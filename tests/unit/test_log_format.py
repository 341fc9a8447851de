"""JSON log lines: one object per record, exceptions with their traceback."""

from __future__ import annotations

import json
import logging
import sys

from score_broker.log_format import JsonFormatter


def test_an_exception_is_one_line_with_a_traceback() -> None:
    try:
        raise RuntimeError("store on fire")
    except RuntimeError:
        failure = sys.exc_info()
    record = logging.LogRecord(
        "score_broker.test", logging.ERROR, __file__, 1, "failed %s", ("upload",), failure
    )
    line = JsonFormatter().format(record)
    assert "\n" not in line
    parsed = json.loads(line)
    assert parsed["level"] == "error"
    assert parsed["logger"] == "score_broker.test"
    assert parsed["message"] == "failed upload"
    assert "request_id" not in parsed
    assert parsed["traceback"].startswith("Traceback (most recent call last)")
    assert "RuntimeError: store on fire" in parsed["traceback"]
