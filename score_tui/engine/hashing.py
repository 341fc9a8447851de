"""MD5s off the event loop: of a byte range, and of a whole file read in order as it fills."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import os
import threading
import time

CHUNK = 4 * 1024 * 1024
# A part waiting for the whole-file MD5 to catch up gives up after this long without progress.
STUCK_SECONDS = 1.0


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
    """Hex MD5 of the first `size` bytes, in a thread; a big file's hashing stops between
    chunks when the caller is cancelled (Ctrl-C), rather than after the whole file."""
    if size <= 16 * CHUNK:
        return await asyncio.to_thread(md5_of_range, fd, 0, size)
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
    """The whole-file MD5, computed in a thread of its own as the readable prefix of a file
    grows.

    An upload makes the whole file readable at once; a download extends the prefix as parts
    land in order. A download's part threads wait (`wait_for_room`) while they are too far
    ahead of it: on a busy machine the hashing otherwise falls behind and is left to do at the
    end, alone, after every byte has arrived.
    """

    def __init__(self, fd: int, size: int, write_behind: bool = False) -> None:
        """`write_behind`: start writing each hashed range to disk (a download's file, which
        is flushed before it is placed: most of it is then on disk already)."""
        self._fd = fd
        self._size = size
        self._write_behind = write_behind
        self._readable = 0
        self._position = 0
        self._stopped = False
        self._digest = hashlib.md5(usedforsecurity=False)
        self._changed = threading.Condition()
        self._done: asyncio.Future[str] | None = None
        self._thread: threading.Thread | None = None

    def extend(self, readable: int) -> None:
        """Bytes [0, readable) are final and may be hashed."""
        with self._changed:
            if readable > self._readable:
                self._readable = readable
                self._changed.notify_all()

    def wait_for_room(
        self, end: int, window: int, stopped: threading.Event, patience: float = STUCK_SECONDS
    ) -> bool:
        """Block (in a part thread) while byte `end` is more than `window` past the hashing.

        False when the hashing has not moved for `patience` seconds: an earlier part is
        failing or waiting for a slot this thread may hold, so the caller must go on unpaced.
        """
        with self._changed:
            position, since = self._position, time.monotonic()
            while end - self._position > window and not (self._stopped or stopped.is_set()):
                if self._position != position:
                    position, since = self._position, time.monotonic()
                elif time.monotonic() - since >= patience:
                    return False
                self._changed.wait(0.1)
            return True

    def start(self) -> None:
        loop = asyncio.get_running_loop()
        self._done = loop.create_future()
        self._thread = threading.Thread(target=self._run, args=(loop,), name="md5", daemon=True)
        self._thread.start()

    async def result(self) -> str:
        assert self._done is not None
        return await asyncio.shield(self._done)

    def cancel(self) -> None:
        """Stop hashing; returns once the thread no longer reads the file."""
        with self._changed:
            self._stopped = True
            self._changed.notify_all()
        if self._thread is not None:
            self._thread.join()
        if self._done is not None and not self._done.done():
            self._done.cancel()

    def _run(self, loop: asyncio.AbstractEventLoop) -> None:
        try:
            while self._position < self._size:
                with self._changed:
                    while self._readable <= self._position and not self._stopped:
                        self._changed.wait()
                    if self._stopped:
                        return
                    end = min(self._readable, self._position + CHUNK)
                chunk = os.pread(self._fd, end - self._position, self._position)
                if not chunk:
                    raise OSError(
                        f"the file ended at byte {self._position}, "
                        f"{self._size - self._position} bytes early"
                    )
                self._digest.update(chunk)
                if self._write_behind:
                    with contextlib.suppress(OSError):
                        os.posix_fadvise(
                            self._fd, self._position, len(chunk), os.POSIX_FADV_DONTNEED
                        )
                with self._changed:
                    self._position += len(chunk)
                    self._changed.notify_all()
            self._settle(loop, self._digest.hexdigest())
        except Exception as error:
            self._settle(loop, error)

    def _settle(self, loop: asyncio.AbstractEventLoop, value: str | Exception) -> None:
        assert self._done is not None
        settle_from_thread(loop, self._done, value)


def settle_from_thread(
    loop: asyncio.AbstractEventLoop, future: asyncio.Future[str], value: str | BaseException
) -> None:
    """Give an event loop's future its result or error from another thread (once)."""

    def settle() -> None:
        if future.done():
            return
        if isinstance(value, BaseException):
            future.set_exception(value)
        else:
            future.set_result(value)

    loop.call_soon_threadsafe(settle)
