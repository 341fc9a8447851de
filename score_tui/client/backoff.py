"""Exponential backoff with full jitter, shared by service calls and part transfers."""

from __future__ import annotations

import random
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Backoff:
    """`attempts` tries in all; after n failures the wait is random in [c/2, c],
    c = min(cap, base * 2^(n-1))."""

    attempts: int = 10
    base: float = 0.5
    cap: float = 30.0

    def delay(self, failures: int) -> float:
        ceiling = min(self.cap, self.base * 2 ** max(failures - 1, 0))
        return random.uniform(ceiling / 2, ceiling)  # noqa: S311 - jitter, not secrecy
