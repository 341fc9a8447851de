"""The client's one retry loop, with an injected sleep: what is tried again, how often, and how
long it waits."""

from __future__ import annotations

import asyncio

import pytest

from score_tui.client.backoff import Backoff
from score_tui.client.errors import Retryable, TransferError, UrlRefused
from score_tui.client.retrying import retrying

BACKOFF = Backoff(attempts=4, base=1.0, cap=4.0)


class Flaky:
    """Fails with the given errors, one per call, then answers "ok"."""

    def __init__(self, *errors: Exception) -> None:
        self.errors = list(errors)
        self.calls = 0

    async def __call__(self) -> str:
        self.calls += 1
        if self.errors:
            raise self.errors.pop(0)
        return "ok"


def run(coroutine: object) -> object:
    return asyncio.run(coroutine)  # type: ignore[arg-type]


def test_retryable_failures_are_tried_again_after_growing_waits() -> None:
    waits: list[float] = []

    async def sleep(seconds: float) -> None:
        waits.append(seconds)

    flaky = Flaky(Retryable("reset"), Retryable("503"))
    assert run(retrying(flaky, BACKOFF, sleep=sleep)) == "ok"
    assert flaky.calls == 3
    assert 0.5 <= waits[0] <= 1.0
    assert 1.0 <= waits[1] <= 2.0


def test_other_failures_and_the_last_retryable_one_are_raised() -> None:
    async def sleep(_: float) -> None:
        return None

    with pytest.raises(TransferError, match="no such object"):
        run(retrying(Flaky(TransferError("no such object")), BACKOFF, sleep=sleep))
    flaky = Flaky(*(Retryable(f"try {n}") for n in range(10)))
    with pytest.raises(Retryable, match="try 3"):
        run(retrying(flaky, BACKOFF, sleep=sleep))
    assert flaky.calls == BACKOFF.attempts


def test_a_recovered_failure_is_not_counted_and_budgets_can_be_shared() -> None:
    async def sleep(_: float) -> None:
        return None

    async def fresh_urls(error: Exception) -> bool:
        return isinstance(error, UrlRefused)

    failures: dict[int, int] = {7: 2}  # two failures of part 7 in an earlier round
    flaky = Flaky(UrlRefused("expired"), UrlRefused("expired"), Retryable("reset"))
    assert run(retrying(flaky, BACKOFF, recover=fresh_urls, failures=failures, key=7, sleep=sleep))
    assert failures[7] == 3
    gave_up = Flaky(Retryable("reset"))
    with pytest.raises(TransferError, match="gave up after 4"):
        run(
            retrying(
                gave_up,
                BACKOFF,
                failures=failures,
                key=7,
                give_up=lambda error, count: TransferError(f"{error}: gave up after {count}"),
                sleep=sleep,
            )
        )
