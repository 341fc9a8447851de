"""A shared bandwidth cap whose rate can change while parts move, for the part threads."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

#: How much may go out at once after an idle spell, in seconds of the rate.
BURST_SECONDS = 0.25


class BandwidthLimiter:
    """Threads `reserve(n)` before moving n bytes and wait the seconds it returns; None as the
    rate means no cap. A cell-rate algorithm: each byte has a time slot at the rate."""

    def __init__(self, rate: float | None = None, clock: Callable[[], float] = time.monotonic):
        self._clock = clock
        self._lock = threading.Lock()
        self._rate: float | None = None
        self._due = 0.0
        self.set_rate(rate)

    @property
    def rate(self) -> float | None:
        return self._rate

    def set_rate(self, rate: float | None) -> None:
        with self._lock:
            self._rate = rate if rate and rate > 0 else None
            self._due = self._clock()

    def reserve(self, size: int) -> float:
        """Book `size` bytes; the seconds to wait before moving them."""
        with self._lock:
            rate = self._rate
            if rate is None:
                return 0.0
            now = self._clock()
            self._due = max(self._due, now) + size / rate
            return max(0.0, self._due - now - BURST_SECONDS)
