"""What the engine asks of an upload or a download, whatever the direction."""

from __future__ import annotations

import asyncio
import os
from abc import ABC, abstractmethod
from collections.abc import Callable
from pathlib import Path

from score_tui.client.errors import ChecksumMismatch, TransferError
from score_tui.client.models import ObjectSpec
from score_tui.client.score import ScoreApi
from score_tui.engine.dataplane import DataPlane
from score_tui.engine.events import Event, Md5Changed
from score_tui.engine.hashing import SequentialHasher
from score_tui.engine.journal import Journal
from score_tui.engine.model import Md5State, PartRecord, Transfer
from score_tui.engine.part_job import OnBytes


def same_layout(parts: list[PartRecord], spec: ObjectSpec) -> bool:
    """Whether the journal's parts are the spec's parts (number, offset, size)."""
    return [(p.number, p.offset, p.size) for p in parts] == [
        (p.number, p.offset, p.size) for p in spec.parts
    ]


class PartsDamaged(Exception):
    """The whole-file MD5 of a download did not match; these parts (with why) go again."""

    def __init__(self, damaged: list[tuple[PartRecord, ChecksumMismatch]]) -> None:
        super().__init__(str(damaged[0][1]) if damaged else "damaged parts")
        self.damaged = damaged


class Runner(ABC):
    """One attempt at a transfer: prepare the parts, move them one by one, then finish."""

    def __init__(
        self,
        transfer: Transfer,
        api: ScoreApi,
        plane: DataPlane,
        journal: Journal,
        emit: Callable[[Event], None],
        lock_dir: Path,
    ) -> None:
        self.transfer = transfer
        self.lock_dir = lock_dir
        self.api = api
        self.plane = plane
        self.journal = journal
        self.emit = emit
        self.fd: int | None = None
        self.hasher: SequentialHasher | None = None
        self._urls: dict[int, str | None] = {}
        self._url_generation = 0
        self._refreshing = asyncio.Lock()

    @property
    def url_generation(self) -> int:
        return self._url_generation

    def use_spec(self, spec: ObjectSpec) -> None:
        self._urls = {part.number: part.url for part in spec.parts}
        self._url_generation += 1

    def url(self, part: PartRecord) -> str:
        url = self._urls.get(part.number)
        if not url:
            raise TransferError(f"the server gave no URL for part {part.number}")
        return url

    async def refresh_urls(self, seen_generation: int) -> None:
        """Fetch fresh part URLs once, however many parts found theirs refused."""
        async with self._refreshing:
            if self._url_generation == seen_generation:
                self.use_spec(await self.fresh_spec())

    def md5_state(self, state: Md5State, detail: str | None = None) -> None:
        self.transfer.md5_check, self.transfer.md5_note = state, detail
        self.emit(Md5Changed(self.transfer.id, state, detail))

    def part_name(self, part: PartRecord) -> str:
        return f"{self.transfer.file_name}: part {part.number}"

    @abstractmethod
    async def prepare(self) -> list[PartRecord]:
        """Start or resume; returns every part, those already done marked so."""

    @abstractmethod
    async def fresh_spec(self) -> ObjectSpec:
        """A spec with fresh URLs for the same parts."""

    @abstractmethod
    async def move(self, part: PartRecord, on_bytes: OnBytes) -> None:
        """Move one part and verify it; sets the part's MD5 (and ETag) where known."""

    async def record(self, part: PartRecord) -> None:  # noqa: B027 - optional hook
        """Tell the server a moved part is done (uploads); runs outside the part slots."""

    def landed(self, parts: list[PartRecord]) -> None:  # noqa: B027 - optional hook
        """A part was recorded as done (`parts` is the whole layout)."""

    @abstractmethod
    async def finish(self) -> None:
        """Check the whole file and publish it (finalize, or rename into place)."""

    def close(self) -> None:
        if self.hasher is not None:
            self.hasher.cancel()
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None
