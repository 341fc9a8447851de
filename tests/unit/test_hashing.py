"""MD5s taken off the event loop: an upload's part and file MD5s from one read, and a
download's file MD5 that part threads wait for when they run too far ahead of it."""

from __future__ import annotations

import asyncio
import hashlib
import os
import threading
from pathlib import Path

import pytest

from score_tui.engine.hashing import SequentialHasher
from score_tui.engine.model import PartRecord
from score_tui.engine.source_digests import SourceDigests

MIB = 1024 * 1024


def md5(data: bytes) -> str:
    return hashlib.md5(data, usedforsecurity=False).hexdigest()


def layout(size: int, part: int) -> list[PartRecord]:
    return [
        PartRecord(n + 1, offset, min(part, size - offset))
        for n, offset in enumerate(range(0, size, part))
    ]


def test_source_digests_give_each_part_and_the_whole_file(tmp_path: Path) -> None:
    data = os.urandom(10 * MIB + 123)
    path = tmp_path / "f"
    path.write_bytes(data)
    parts = layout(len(data), 3 * MIB)

    async def digests() -> tuple[list[str], str]:
        fd = os.open(path, os.O_RDONLY)
        source = SourceDigests(fd, parts)
        try:
            return [await source.part(p.number) for p in reversed(parts)], await source.whole()
        finally:
            source.close()
            os.close(fd)

    part_md5s, whole = asyncio.run(digests())
    assert list(reversed(part_md5s)) == [md5(data[p.offset : p.offset + p.size]) for p in parts]
    assert whole == md5(data)


def test_source_digests_fail_when_the_file_shrank(tmp_path: Path) -> None:
    path = tmp_path / "f"
    path.write_bytes(os.urandom(MIB))
    parts = layout(2 * MIB, MIB)  # the file was 2 MiB when the upload began

    async def whole() -> str:
        fd = os.open(path, os.O_RDONLY)
        source = SourceDigests(fd, parts)
        try:
            return await source.whole()
        finally:
            source.close()
            os.close(fd)

    with pytest.raises(OSError, match="ended at byte"):
        asyncio.run(whole())


def test_part_threads_wait_for_the_file_md5_to_catch_up(tmp_path: Path) -> None:
    data = os.urandom(8 * MIB)
    path = tmp_path / "f"
    path.write_bytes(data)

    async def scenario() -> str:
        fd = os.open(path, os.O_RDONLY)
        hasher = SequentialHasher(fd, len(data))
        hasher.start()
        stop = threading.Event()
        waited = asyncio.create_task(
            asyncio.to_thread(hasher.wait_for_room, 6 * MIB, 2 * MIB, stop)
        )
        await asyncio.sleep(0)
        assert not waited.done(), "nothing is hashed yet: 6 MiB is 4 MiB too far ahead"
        hasher.extend(len(data))  # the prefix lands; hashing goes on; the thread may go on
        assert await waited, "the hashing caught up: the part goes on paced"
        digest = await hasher.result()
        hasher.cancel()
        os.close(fd)
        return digest

    assert asyncio.run(scenario()) == md5(data)


def test_a_part_stops_waiting_when_the_file_md5_is_stuck(tmp_path: Path) -> None:
    """An earlier part that failed holds the hashing back; waiting parts hold the slots it
    needs to be fetched again. They must give up waiting rather than wait for it forever."""
    path = tmp_path / "f"
    path.write_bytes(bytes(8 * MIB))

    async def scenario() -> bool:
        fd = os.open(path, os.O_RDONLY)
        hasher = SequentialHasher(fd, 8 * MIB)
        hasher.start()  # nothing is ever extended: the first part never lands
        try:
            return await asyncio.to_thread(
                hasher.wait_for_room, 6 * MIB, 2 * MIB, threading.Event(), 0.3
            )
        finally:
            hasher.cancel()
            os.close(fd)

    assert asyncio.run(scenario()) is False
