"""A shared bandwidth cap (token bucket) whose rate can change while transfers run."""

from __future__ import annotations

import asyncio
import time


class BandwidthLimiter:
    """Callers `await consume(n)` before moving n bytes; None as the rate means no cap."""

    def __init__(self, rate: float | None = None) -> None:
        self._rate = rate
        self._allowance = 0.0
        self._stamp = time.monotonic()
        self._lock = asyncio.Lock()

    @property
    def rate(self) -> float | None:
        return self._rate

    def set_rate(self, rate: float | None) -> None:
        self._rate = rate if rate and rate > 0 else None
        self._allowance = 0.0
        self._stamp = time.monotonic()

    async def consume(self, size: int) -> None:
        if self._rate is None:
            return
        async with self._lock:
            while self._rate is not None:
                now = time.monotonic()
                burst = self._rate / 4
                self._allowance = min(burst, self._allowance + (now - self._stamp) * self._rate)
                self._stamp = now
                if self._allowance >= min(size, burst):
                    self._allowance -= size
                    return
                await asyncio.sleep(min(0.25, (min(size, burst) - self._allowance) / self._rate))
