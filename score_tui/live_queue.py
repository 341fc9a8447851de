"""The queue as the terminal UI shows it: every transfer, its parts, speed and ETA.

An engine subscriber that only updates memory and marks what changed; the UI redraws the
changed rows on a timer, so a burst of events never waits on the screen (nor the screen on
disk or network).
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field

from score_tui.engine.events import (
    Event,
    Md5Changed,
    PartChanged,
    PartProgress,
    TransferChanged,
    TransferQueued,
    TransferStarted,
)
from score_tui.engine.model import Direction, Md5State, PartRecord, PartState, State, Transfer

#: Speeds are averaged over this many seconds.
SPEED_WINDOW = 5.0


@dataclass(slots=True)
class PartView:
    number: int
    offset: int
    size: int
    state: PartState = PartState.QUEUED
    moved: int = 0
    reason: str | None = None


@dataclass(slots=True)
class TransferView:
    """A transfer and what the UI knows of its parts; `transfer` is the engine's own object."""

    transfer: Transfer
    parts: list[PartView] = field(default_factory=list)
    samples: deque[tuple[float, int]] = field(default_factory=deque)

    @property
    def id(self) -> str:
        return self.transfer.id

    @property
    def size(self) -> int:
        return self.transfer.size

    @property
    def done_bytes(self) -> int:
        if self.transfer.state == State.DONE:
            return self.transfer.size
        return max(0, min(self.transfer.bytes_done, self.transfer.size))

    @property
    def fraction(self) -> float:
        return self.done_bytes / self.size if self.size else 0.0

    def sample(self, now: float) -> None:
        """Note the bytes moved by `now`, keeping a window long enough for the speed."""
        self.samples.append((now, self.done_bytes))
        while len(self.samples) > 2 and now - self.samples[1][0] >= SPEED_WINDOW:
            self.samples.popleft()

    def speed(self) -> float:
        """Bytes per second over the last few seconds; 0 when not running."""
        if self.transfer.state != State.RUNNING or len(self.samples) < 2:
            return 0.0
        (t0, b0), (t1, b1) = self.samples[0], self.samples[-1]
        return max(0.0, (b1 - b0) / (t1 - t0)) if t1 > t0 else 0.0

    def eta(self) -> float | None:
        speed = self.speed()
        if speed <= 0:
            return None
        return (self.size - self.done_bytes) / speed

    def part_counts(self) -> dict[PartState, int]:
        counts = dict.fromkeys(PartState, 0)
        for part in self.parts:
            counts[part.state] += 1
        return counts


class LiveQueue:
    """Every transfer the UI shows, in the order they were added, fed by engine events."""

    def __init__(self) -> None:
        self.views: dict[str, TransferView] = {}
        #: Transfers whose row must be redrawn; the UI clears it.
        self.dirty: set[str] = set()
        #: Transfers whose part layout changed (the detail screen redraws its grid).
        self.parts_dirty: set[str] = set()
        self.finished: list[Transfer] = []

    def load(self, transfers: Iterable[Transfer], parts: dict[str, list[PartRecord]]) -> None:
        """Show transfers read from the journal, with their parts as recorded."""
        for transfer in transfers:
            view = self._view(transfer)
            view.parts = [_part_view(p) for p in parts.get(transfer.id, [])]
            self.parts_dirty.add(transfer.id)

    def _view(self, transfer: Transfer) -> TransferView:
        view = self.views.get(transfer.id)
        if view is None:
            view = self.views[transfer.id] = TransferView(transfer)
        view.transfer = transfer
        self.dirty.add(transfer.id)
        return view

    def __call__(self, event: Event) -> None:
        if isinstance(event, TransferQueued):
            self._view(event.transfer)
        elif isinstance(event, TransferStarted):
            view = self._view(event.transfer)
            view.parts = [_part_view(p) for p in event.parts]
            view.samples.clear()
            self.parts_dirty.add(view.id)
        elif isinstance(event, PartProgress):
            shown = self.views.get(event.transfer_id)
            if shown is not None and 0 < event.part_number <= len(shown.parts):
                part = shown.parts[event.part_number - 1]
                part.moved = max(0, min(part.size, part.moved + event.delta))
                self.dirty.add(shown.id)
        elif isinstance(event, PartChanged):
            shown = self.views.get(event.transfer_id)
            if shown is not None and 0 < event.part_number <= len(shown.parts):
                part = shown.parts[event.part_number - 1]
                part.state, part.reason = event.state, event.reason
                if event.state == PartState.DONE:
                    part.moved = part.size
                elif event.state in (PartState.QUEUED, PartState.FAILED):
                    part.moved = 0
                self.dirty.add(shown.id)
        elif isinstance(event, Md5Changed):
            if event.transfer_id in self.views:
                self.dirty.add(event.transfer_id)
        elif isinstance(event, TransferChanged):
            view = self._view(event.transfer)
            if event.state in (State.DONE, State.FAILED):
                self.finished.append(event.transfer)
            if event.state != State.RUNNING:
                for part in view.parts:
                    if part.state in (PartState.MOVING, PartState.VERIFYING):
                        part.state, part.moved = PartState.QUEUED, 0

    def tick(self, now: float | None = None) -> None:
        """Sample the running transfers' bytes (call about once a second)."""
        now = time.monotonic() if now is None else now
        for view in self.views.values():
            if view.transfer.state == State.RUNNING:
                view.sample(now)
                self.dirty.add(view.id)

    def totals(self) -> tuple[int, int, float]:
        """Bytes done and total over the unfinished and finished transfers, and the speed."""
        done = total = 0
        speed = 0.0
        for view in self.views.values():
            if view.transfer.state == State.CANCELLED:
                continue
            done += view.done_bytes
            total += view.size
            speed += view.speed()
        return done, total, speed

    def counts(self) -> dict[State, int]:
        counts = dict.fromkeys(State, 0)
        for view in self.views.values():
            counts[view.transfer.state] += 1
        return counts


def _part_view(part: PartRecord) -> PartView:
    state = PartState.DONE if part.done else PartState.QUEUED
    return PartView(part.number, part.offset, part.size, state, part.size if part.done else 0)


def md5_label(transfer: Transfer) -> str:
    """The MD5 column: what is known of the whole-file check."""
    check = transfer.md5_check
    if transfer.state == State.DONE and check == Md5State.PENDING:  # done in an earlier run
        checked = transfer.direction == Direction.UPLOAD or transfer.checks_whole_file
        return "ok" if checked else "skipped"
    return check.value
