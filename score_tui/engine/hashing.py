"""MD5s off the event loop: of a byte range, and of a whole file read in order as it fills."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import os

CHUNK = 4 * 1024 * 1024


def md5_of_range(fd: int, offset: int, size: int) -> str:
    """Hex MD5 of `size` bytes at `offset` of an open file (hashlib frees the GIL on big reads)."""
    digest = hashlib.md5(usedforsecurity=False)
    end = offset + size
    while offset < end:
        chunk = os.pread(fd, min(CHUNK, end - offset), offset)
        if not chunk:
            raise OSError(f"the file ended at byte {offset}, {end - offset} bytes early")
        digest.update(chunk)
        offset += len(chunk)
    return digest.hexdigest()


async def md5_of_file(fd: int, size: int) -> str:
    """Hex MD5 of the first `size` bytes, in worker threads a slice at a time, so that
    cancelling (Ctrl-C) takes effect between slices rather than after the whole file."""
    hasher = SequentialHasher(fd, size)
    hasher.extend(size)
    hasher.start()
    try:
        return await hasher.result()
    finally:
        hasher.cancel()


def hex_to_base64(md5_hex: str) -> str:
    return base64.b64encode(bytes.fromhex(md5_hex)).decode()


def normalized_md5(value: str | None) -> str | None:
    """Lower-case hex from an MD5 given as hex or base64 (Score accepts both); None if neither."""
    if not value:
        return None
    text = value.strip()
    if len(text) == 32:
        try:
            bytes.fromhex(text)
            return text.lower()
        except ValueError:
            return None
    try:
        raw = base64.b64decode(text, validate=True)
    except ValueError:
        return None
    return raw.hex() if len(raw) == 16 else None


class SequentialHasher:
    """The whole-file MD5, computed in a worker thread as the readable prefix of a file grows.

    An upload makes the whole file readable at once; a download extends the prefix as parts
    land in order, so the final check has little left to read when the last part arrives.
    """

    def __init__(self, fd: int, size: int) -> None:
        self._fd = fd
        self._size = size
        self._readable = 0
        self._position = 0
        self._digest = hashlib.md5(usedforsecurity=False)
        self._grown = asyncio.Event()
        self._task: asyncio.Task[str] | None = None

    def extend(self, readable: int) -> None:
        """Bytes [0, readable) are final and may be hashed."""
        if readable > self._readable:
            self._readable = readable
            self._grown.set()

    def start(self) -> None:
        self._task = asyncio.create_task(self._run())

    async def result(self) -> str:
        assert self._task is not None
        return await self._task

    def cancel(self) -> None:
        if self._task is not None:
            self._task.cancel()

    async def _run(self) -> str:
        while self._position < self._size:
            while self._readable <= self._position:
                self._grown.clear()
                await self._grown.wait()
            end = min(self._readable, self._position + 16 * CHUNK)
            await asyncio.to_thread(self._hash, self._position, end)
            self._position = end
        return self._digest.hexdigest()

    def _hash(self, start: int, end: int) -> None:
        while start < end:
            chunk = os.pread(self._fd, min(CHUNK, end - start), start)
            if not chunk:
                raise OSError(f"the file ended at byte {start}, {self._size - start} bytes early")
            self._digest.update(chunk)
            start += len(chunk)
