"""Exponential backoff with full jitter, shared by service calls and part transfers."""

from __future__ import annotations

import random
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Backoff:
    """`attempts` tries in all; the wait before try n+1 is random in [0, min(cap, base * 2^n)]."""

    attempts: int = 10
    base: float = 0.5
    cap: float = 30.0

    def delay(self, failures: int) -> float:
        ceiling = min(self.cap, self.base * 2 ** max(failures - 1, 0))
        return random.uniform(ceiling / 2, ceiling)  # noqa: S311 - jitter, not secrecy
