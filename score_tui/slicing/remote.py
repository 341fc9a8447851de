"""An object read by ranged GETs on one pre-signed URL into a sparse local file of its size.

Only the ranges asked for are fetched (never twice); the rest of the file stays a hole. htslib
then reads the local file as if it were whole, touching only what the index points to.
"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import httpx

from score_tui.client.errors import network_error
from score_tui.engine.dataplane import store_error

#: Ranges closer than this are fetched as one request (fewer round trips for a few bytes).
GAP = 4096


def merge(ranges: list[tuple[int, int]], gap: int = 0) -> list[tuple[int, int]]:
    """Sorted, merged [start, end) ranges; ones less than `gap` apart are joined."""
    merged: list[tuple[int, int]] = []
    for start, end in sorted(r for r in ranges if r[1] > r[0]):
        if merged and start <= merged[-1][1] + gap:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


class SparseCopy:
    """A local sparse copy of a remote object; `fetched` counts the bytes that came over."""

    def __init__(self, url: str, size: int, path: Path, http: httpx.AsyncClient) -> None:
        self.url = url
        self.size = size
        self.path = path
        self.http = http
        self.fetched = 0
        self.requests = 0
        self._have: list[tuple[int, int]] = []
        with open(path, "wb") as handle:
            handle.truncate(size)

    def _missing(self, start: int, end: int) -> list[tuple[int, int]]:
        gaps, at = [], start
        for have_start, have_end in self._have:
            if have_end <= at or have_start >= end:
                continue
            if have_start > at:
                gaps.append((at, have_start))
            at = max(at, have_end)
        if at < end:
            gaps.append((at, end))
        return gaps

    async def fill(self, ranges: list[tuple[int, int]], parallel: int = 8) -> None:
        """Fetch what is missing of `ranges` (parallel ranged GETs) into the sparse file."""
        wanted = merge([(max(0, s), min(self.size, e)) for s, e in ranges])
        missing = merge([g for s, e in wanted for g in self._missing(s, e)], GAP)
        slots = asyncio.Semaphore(parallel)

        async def one(start: int, end: int) -> None:
            async with slots:
                data = await self._get(start, end)
            await asyncio.to_thread(self._write, start, data)

        await asyncio.gather(*(one(s, e) for s, e in missing))
        self._have = merge(self._have + missing)

    async def read(self, start: int, length: int) -> bytes:
        """Bytes [start, start + length), fetched if they are not here yet."""
        await self.fill([(start, start + length)])
        with open(self.path, "rb") as handle:
            handle.seek(start)
            return handle.read(min(length, self.size - start))

    async def _get(self, start: int, end: int) -> bytes:
        what = f"bytes {start}-{end - 1}"
        try:
            response = await self.http.get(self.url, headers={"Range": f"bytes={start}-{end - 1}"})
        except httpx.HTTPError as exc:
            raise network_error(what, exc) from exc
        if response.status_code != 206 and not (response.status_code == 200 and start == 0):
            raise store_error(what, response)
        data = response.content[: end - start]
        if len(data) != end - start:
            raise store_error(f"{what}: {len(data)} bytes came", response)
        self.fetched += len(response.content)
        self.requests += 1
        return data

    def _write(self, start: int, data: bytes) -> None:
        fd = os.open(self.path, os.O_WRONLY)
        try:
            os.pwrite(fd, data, start)
        finally:
            os.close(fd)
