"""The broker's one retry loop, for its own calls to the store and to a remote Song."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def retrying(
    attempt: Callable[[], T],
    attempts: int,
    *,
    retryable: Callable[[Exception], bool],
    delay: Callable[[int], float],
    sleep: Callable[[float], None] = time.sleep,
) -> T:
    """`attempt()` up to `attempts` times in all. A failure `retryable` says is worth another
    try waits `delay(n)` after the n-th; the last failure, or any other, is raised."""
    for number in range(1, max(attempts, 1) + 1):
        try:
            return attempt()
        except Exception as error:
            if not retryable(error) or number >= attempts:
                raise
        sleep(delay(number))
    raise AssertionError("unreachable: the loop returns or raises")
