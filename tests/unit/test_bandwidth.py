"""The bandwidth cap the part threads share: the rate holds over time, a burst is allowed after
an idle spell, and a new rate applies at once."""

from __future__ import annotations

import pytest

from score_tui.engine.bandwidth import BURST_SECONDS, BandwidthLimiter


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_without_a_rate_nothing_waits() -> None:
    assert BandwidthLimiter(None).reserve(10**9) == 0.0


def test_the_rate_holds_once_the_burst_is_spent() -> None:
    clock = Clock()
    limiter = BandwidthLimiter(1_000_000, clock)
    waits = [limiter.reserve(100_000) for _ in range(20)]  # 2 MB asked for at once
    assert waits[0] == 0.0, "an idle link may send a burst"
    # 2 MB at 1 MB/s: the last bytes go two seconds from now, less the burst allowed.
    assert waits[-1] == pytest.approx(2.0 - BURST_SECONDS)
    assert waits == sorted(waits)


def test_an_idle_spell_allows_only_one_burst() -> None:
    clock = Clock()
    limiter = BandwidthLimiter(1_000_000, clock)
    limiter.reserve(1_000_000)
    clock.now += 60  # a minute of silence does not bank a minute of bytes
    assert limiter.reserve(250_000) == 0.0
    assert limiter.reserve(250_000) == pytest.approx(0.25)


def test_a_new_rate_applies_at_once() -> None:
    clock = Clock()
    limiter = BandwidthLimiter(1_000, clock)
    assert limiter.reserve(10_000) > 5
    limiter.set_rate(None)
    assert limiter.rate is None
    assert limiter.reserve(10**9) == 0.0
    limiter.set_rate(1_000_000)
    assert limiter.reserve(100_000) == 0.0
