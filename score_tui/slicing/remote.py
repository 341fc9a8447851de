"""An object read by ranged GETs on one pre-signed URL into a sparse local file of its size.

Only the ranges asked for are fetched (never twice); the rest of the file stays a hole. htslib
then reads the local file as if it were whole, touching only what the index points to. Ranges
are streamed to disk in pieces of at most PIECE bytes, so a whole-contig query never sits in
memory, and a failed piece is fetched again alone.
"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import httpx

from score_tui.client.backoff import Backoff
from score_tui.client.errors import Retryable, TransferError, UrlRefused, network_error
from score_tui.client.retrying import retrying
from score_tui.client.tls import tls_context
from score_tui.engine.dataplane import store_error
from score_tui.slicing.plan import merge

#: Ranges closer than this are fetched as one request (fewer round trips for a few bytes).
GAP = 4096
PIECE = 32 * 1024 * 1024
RETRY = Backoff(attempts=5, base=0.5, cap=8.0)


def http_client(ca_file: str | None = None) -> httpx.AsyncClient:
    """The client slices fetch with: patient reads, no pool limit on waiting; HTTPS trusts the
    system's certificates and `ca_file`."""
    return httpx.AsyncClient(timeout=httpx.Timeout(60, pool=None), verify=tls_context(ca_file))


def pieces(ranges: list[tuple[int, int]], size: int = PIECE) -> list[tuple[int, int]]:
    return [(s, min(s + size, end)) for start, end in ranges for s in range(start, end, size)]


class SparseCopy:
    """A local sparse copy of a remote object; `fetched` counts the bytes that came over."""

    def __init__(
        self, url: str, size: int, path: Path, http: httpx.AsyncClient, backoff: Backoff = RETRY
    ) -> None:
        self.url = url
        self.size = size
        self.path = path
        self.http = http
        self.backoff = backoff
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
        missing = pieces(merge([g for s, e in wanted for g in self._missing(s, e)], GAP))
        slots = asyncio.Semaphore(parallel)

        async def one(start: int, end: int) -> None:
            async with slots:
                await self._get(start, end)
            self._have = merge([*self._have, (start, end)])

        try:
            async with asyncio.TaskGroup() as group:
                for start, end in missing:
                    group.create_task(one(start, end))
        except BaseExceptionGroup as failed:
            raise failed.exceptions[0] from None

    async def read(self, start: int, length: int) -> bytes:
        """Bytes [start, start + length), fetched if they are not here yet."""
        await self.fill([(start, start + length)])
        with open(self.path, "rb") as handle:
            handle.seek(start)
            return handle.read(min(length, self.size - start))

    async def _get(self, start: int, end: int) -> None:
        """One range, tried again with backoff when the link fails or the bytes come short."""

        def worth_another_try(error: Exception) -> bool:
            return isinstance(error, Retryable) and not isinstance(error, UrlRefused)

        try:
            await retrying(
                lambda: self._get_once(start, end), self.backoff, retryable=worth_another_try
            )
        except UrlRefused as exc:  # expired or revoked: the same URL will not do better
            raise UrlRefused(f"{exc}; run the slice again for a fresh URL") from None

    async def _get_once(self, start: int, end: int) -> None:
        what = f"bytes {start}-{end - 1}"
        headers = {"Range": f"bytes={start}-{end - 1}"}
        try:
            async with self.http.stream("GET", self.url, headers=headers) as response:
                whole = response.status_code == 200 and end - start == self.size
                if response.status_code != 206 and not whole:
                    await response.aread()
                    if response.status_code == 200:
                        raise TransferError(f"{what}: the store ignores byte ranges")
                    raise store_error(what, response)
                self.requests += 1
                at = start
                fd = os.open(self.path, os.O_WRONLY)
                try:
                    async for chunk in response.aiter_bytes():
                        chunk = chunk[: end - at]
                        if chunk:
                            await asyncio.to_thread(os.pwrite, fd, chunk, at)
                            at += len(chunk)
                            self.fetched += len(chunk)
                finally:
                    os.close(fd)
        except httpx.HTTPError as exc:
            raise network_error(what, exc) from exc
        if at != end:
            raise Retryable(f"{what}: only {at - start} bytes came")
