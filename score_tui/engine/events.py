"""Progress events and the bus that hands them to subscribers (the batch printer, the TUI)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from score_tui.engine.model import Md5State, PartRecord, PartState, State, Transfer

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class TransferQueued:
    transfer: Transfer


@dataclass(frozen=True, slots=True)
class TransferStarted:
    """The part layout is known; `parts` carry which ones are already done."""

    transfer: Transfer
    parts: tuple[PartRecord, ...]


@dataclass(frozen=True, slots=True)
class PartProgress:
    """`delta` more bytes of a part moved (negative when a failed attempt's bytes are undone)."""

    transfer_id: str
    part_number: int
    delta: int


@dataclass(frozen=True, slots=True)
class PartChanged:
    transfer_id: str
    part_number: int
    state: PartState
    reason: str | None = None


@dataclass(frozen=True, slots=True)
class Md5Changed:
    transfer_id: str
    state: Md5State
    detail: str | None = None


@dataclass(frozen=True, slots=True)
class TransferChanged:
    """A transfer reached `state` (done, failed with `transfer.error`, paused, ...)."""

    transfer: Transfer
    state: State


Event = TransferQueued | TransferStarted | PartProgress | PartChanged | Md5Changed | TransferChanged
Subscriber = Callable[[Event], None]


class EventBus:
    """Calls every subscriber with every event; a failing subscriber never stops a transfer."""

    def __init__(self) -> None:
        self._subscribers: list[Subscriber] = []

    def subscribe(self, subscriber: Subscriber) -> Callable[[], None]:
        self._subscribers.append(subscriber)
        return lambda: self._subscribers.remove(subscriber)

    def publish(self, event: Event) -> None:
        for subscriber in list(self._subscribers):
            try:
                subscriber(event)
            except Exception:
                log.exception("progress subscriber failed")
