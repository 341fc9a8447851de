"""The one retry loop: a call tried again with backoff while its failures are worth it."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, MutableMapping
from typing import TypeVar

from score_tui.client.backoff import Backoff
from score_tui.client.errors import Retryable

T = TypeVar("T")
Sleep = Callable[[float], Awaitable[None]]


def is_retryable(error: Exception) -> bool:
    return isinstance(error, Retryable)


async def retrying(
    attempt: Callable[[], Awaitable[T]],
    backoff: Backoff,
    *,
    retryable: Callable[[Exception], bool] = is_retryable,
    recover: Callable[[Exception], Awaitable[bool]] | None = None,
    give_up: Callable[[Exception, int], Exception] | None = None,
    failures: MutableMapping[int, int] | None = None,
    key: int = 0,
    sleep: Sleep = asyncio.sleep,
) -> T:
    """`attempt()` until it succeeds.

    A failure that is not `retryable` is raised at once. `recover` may deal with a failure
    first (fetch fresh URLs, say): when it returns True the next try comes at once and is not
    counted. Otherwise the failure counts, in `failures[key]` when given (so several calls can
    share one budget), and the next try waits `backoff.delay(count)`; once `backoff.attempts`
    failures are counted the failure is raised, or `give_up(failure, count)` instead.
    """
    counts: MutableMapping[int, int] = failures if failures is not None else {}
    while True:
        try:
            return await attempt()
        except Exception as error:
            if not retryable(error):
                raise
            if recover is not None and await recover(error):
                continue
            count = counts[key] = counts.get(key, 0) + 1
            if count >= backoff.attempts:
                if give_up is not None:
                    raise give_up(error, count) from error
                raise
            await sleep(backoff.delay(count))
