"""Waiting for what a test can observe (a file, a row, a process), never for a guessed time."""

from __future__ import annotations

import time
from collections.abc import Callable

WAIT = 120.0


def wait_until(condition: Callable[[], bool], what: str, timeout: float = WAIT) -> None:
    """Poll an observable state until it holds; fail naming `what` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)
