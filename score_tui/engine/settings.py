"""The engine's limits and patience, checked when they are made."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class EngineSettings:
    """Parts in flight overall and per transfer, big files at once, bandwidth, retries and
    stall time. ValueError, with a one-line reason, for values the engine cannot work with."""

    concurrency: int = 8
    per_transfer: int = 6
    #: Files bigger than the engine's small-file size moving at once.
    active_transfers: int = 4
    #: Bytes per second over all transfers; None for no limit.
    bandwidth_limit: float | None = None
    retries: int = 10
    retry_delay: float = 0.5
    retry_max_delay: float = 30.0
    stall_timeout: float = 30.0

    def __post_init__(self) -> None:
        if min(self.concurrency, self.per_transfer, self.active_transfers) < 1:
            raise ValueError("concurrency, per_transfer and active_transfers must be at least 1")
        if self.retries < 1:
            raise ValueError("retries must be at least 1")
        if self.retry_delay < 0 or self.retry_max_delay < self.retry_delay:
            raise ValueError("retry_delay must be at least 0 and at most retry_max_delay")
        if self.stall_timeout <= 0:
            raise ValueError("stall_timeout must be more than 0 seconds")
        if self.bandwidth_limit is not None and self.bandwidth_limit <= 0:
            raise ValueError("the bandwidth limit must be more than 0")
