"""The MD5 of each part of an upload and of the whole file, from one read of the source.

A part's PUT needs its MD5 first (Content-MD5), and the upload is finalized only once the whole
file's MD5 equals the declared one. Both come from the same bytes, read once, in order: one
thread reads the file and takes each part's MD5, a second takes the whole-file MD5 of the same
buffers. So the bytes the store accepted, part by part against each Content-MD5, are exactly the
bytes the whole-file MD5 describes, even if the file changes underneath.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import queue
import threading

from score_tui.client.errors import TransferError
from score_tui.engine.hashing import settle_from_thread
from score_tui.engine.model import PartRecord

CHUNK = 4 * 1024 * 1024
#: Buffers read ahead of the whole-file MD5 (bounds the memory an upload holds).
QUEUED = 4


class SourceDigests:
    """Hashes `parts` of the open file `fd` in threads; `part()` and `whole()` wait for them."""

    def __init__(self, fd: int, parts: list[PartRecord]) -> None:
        self._fd = fd
        self._layout = sorted((p.offset, p.size, p.number) for p in parts)
        self._loop = asyncio.get_running_loop()
        self._parts: dict[int, asyncio.Future[str]] = {
            p.number: self._loop.create_future() for p in parts
        }
        self._whole: asyncio.Future[str] = self._loop.create_future()
        self._buffers: queue.Queue[bytes | None] = queue.Queue(QUEUED)
        self._stop = threading.Event()
        self._threads = [
            threading.Thread(target=self._read, name="md5-parts", daemon=True),
            threading.Thread(target=self._sum, name="md5-file", daemon=True),
        ]
        for thread in self._threads:
            thread.start()

    async def part(self, number: int) -> str:
        return await asyncio.shield(self._parts[number])

    async def whole(self) -> str:
        return await asyncio.shield(self._whole)

    def close(self) -> None:
        """Stop reading; waits until neither thread touches the file any more."""
        self._stop.set()
        for thread in self._threads:
            thread.join()
        for future in (*self._parts.values(), self._whole):
            if not future.done():
                future.cancel()
            elif not future.cancelled():
                future.exception()  # retrieved: no "never retrieved" warning

    def _settle(self, future: asyncio.Future[str], value: str | BaseException) -> None:
        settle_from_thread(self._loop, future, value)

    def _offer(self, item: bytes | None) -> bool:
        while not self._stop.is_set():
            try:
                self._buffers.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def _read(self) -> None:
        try:
            expected = 0
            for offset, size, number in self._layout:
                if offset != expected:
                    raise TransferError(
                        f"the broker's part {number} does not start where the one before ends; "
                        "ask its administrator to check the upload's spec"
                    )
                digest = hashlib.md5(usedforsecurity=False)
                position, end = offset, offset + size
                while position < end:
                    chunk = os.pread(self._fd, min(CHUNK, end - position), position)
                    if not chunk:
                        raise OSError(f"the file ended at byte {position}, before byte {end}")
                    digest.update(chunk)
                    if not self._offer(chunk):
                        return
                    position += len(chunk)
                self._settle(self._parts[number], digest.hexdigest())
                expected = end
            self._offer(None)
        except Exception as error:
            for future in (*self._parts.values(), self._whole):
                self._settle(future, error)
            self._offer(None)

    def _sum(self) -> None:
        digest = hashlib.md5(usedforsecurity=False)
        while not self._stop.is_set():
            try:
                chunk = self._buffers.get(timeout=0.1)
            except queue.Empty:
                continue
            if chunk is None:
                self._settle(self._whole, digest.hexdigest())
                return
            digest.update(chunk)
