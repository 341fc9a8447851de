"""Moving one part's bytes over a pre-signed URL, and reading what the object store answered."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Callable

import httpcore
import httpx

from score_tui.client.errors import (
    ChecksumMismatch,
    Retryable,
    TransferError,
    UrlRefused,
    network_error,
    server_message,
)
from score_tui.client.score import USER_AGENT
from score_tui.engine.bandwidth import BandwidthLimiter
from score_tui.engine.hashing import hex_to_base64, md5_of_range

#: Upload bodies go out in slices of this size with an explicit Content-Length (httpcore copies
#: a large `bytes` body once per send, so one big body is slow).
SLICE = 1024 * 1024
#: Download progress is reported in steps of at least this many bytes.
REPORT_STEP = 256 * 1024

OnBytes = Callable[[int], None]

# httpcore reads 64 KiB per socket read, and every read goes through h11's parser in Python;
# for multi-gigabyte downloads that was most of the event loop's time. 1 MiB reads cut it.
httpcore.AsyncHTTP11Connection.READ_NUM_BYTES = 1024 * 1024


class DataPlane:
    """An HTTP client for pre-signed part URLs; `stall_timeout` bounds any wait for bytes."""

    def __init__(self, limiter: BandwidthLimiter, stall_timeout: float, connections: int) -> None:
        self.limiter = limiter
        #: False on stores whose ETags are not MD5s (Azure: `/profile` says `az`); the part's
        #: Content-MD5 is then the store's only check of its bytes.
        self.etags_are_md5 = True
        timeout = httpx.Timeout(stall_timeout, pool=None)
        limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
        self._http = httpx.AsyncClient(timeout=timeout, limits=limits, follow_redirects=False)

    async def aclose(self) -> None:
        await self._http.aclose()

    async def put_part(
        self, what: str, url: str, fd: int, offset: int, size: int, md5: str, on_bytes: OnBytes
    ) -> str:
        """PUT the part with its Content-MD5; returns the ETag once it matches the part's MD5."""
        headers = {
            "Content-Length": str(size),
            "Content-MD5": hex_to_base64(md5),
            "User-Agent": USER_AGENT,
        }
        if not self.etags_are_md5 and "comp=block" not in url:
            # A whole-blob SAS (Score's Azure flow): the PUT is a Put Blob, which must say so.
            headers["x-ms-blob-type"] = "BlockBlob"
        try:
            response = await self._http.put(
                url, content=self._slices(what, fd, offset, size, on_bytes), headers=headers
            )
        except httpx.HTTPError as exc:
            raise network_error(what, exc) from exc
        if response.status_code >= 300:
            raise store_error(what, response)
        etag = response.headers.get("ETag", "").strip().strip('"').lower()
        encrypted = response.headers.get("x-amz-server-side-encryption") == "aws:kms"
        if self.etags_are_md5 and not encrypted and etag != md5:
            raise ChecksumMismatch(
                f"{what}: the store recorded different bytes (ETag {etag or 'missing'}, "
                f"MD5 sent {md5}); sending it again"
            )
        # Where ETags are not MD5s (Azure blocks), the store checked the Content-MD5 sent.
        return etag if self.etags_are_md5 else md5

    async def _slices(
        self, what: str, fd: int, offset: int, size: int, on_bytes: OnBytes
    ) -> AsyncIterator[bytes]:
        position, end = offset, offset + size
        while position < end:
            length = min(SLICE, end - position)
            await self.limiter.consume(length)
            chunk = os.pread(fd, length, position)
            if len(chunk) != length:
                raise TransferError(f"{what}: the file became shorter while uploading")
            position += length
            yield chunk
            on_bytes(length)

    async def get_part(
        self,
        what: str,
        url: str,
        first: int,
        size: int,
        fd: int,
        write_at: int,
        on_bytes: OnBytes,
    ) -> str:
        """GET bytes [first, first+size) and write them at `write_at`; returns their MD5.

        The MD5 is taken from the written bytes in a worker thread, which keeps the event loop
        free for the network and spreads the hashing over the cores."""
        headers = {
            "Range": f"bytes={first}-{first + size - 1}",
            "Accept-Encoding": "identity",
            "User-Agent": USER_AGENT,
        }
        received = unreported = 0
        try:
            async with self._http.stream("GET", url, headers=headers) as response:
                if response.status_code >= 300:
                    await response.aread()
                    raise store_error(what, response)
                if response.status_code == 200 and _length(response) not in (size, None):
                    raise TransferError(f"{what}: the store ignored the byte range it was asked")
                async for chunk in response.aiter_raw():
                    if received + len(chunk) > size:
                        raise Retryable(f"{what}: the store sent more bytes than the part holds")
                    os.pwrite(fd, chunk, write_at + received)
                    received += len(chunk)
                    unreported += len(chunk)
                    if self.limiter.rate is not None:
                        await self.limiter.consume(len(chunk))
                    if unreported >= REPORT_STEP:
                        on_bytes(unreported)
                        unreported = 0
        except httpx.HTTPError as exc:
            raise network_error(what, exc) from exc
        finally:
            if unreported:
                on_bytes(unreported)
        if received != size:
            raise Retryable(f"{what}: the connection closed after {received} of {size} bytes")
        return await asyncio.to_thread(md5_of_range, fd, write_at, size)


def _length(response: httpx.Response) -> int | None:
    value = response.headers.get("Content-Length")
    return int(value) if value and value.isdigit() else None


def store_error(what: str, response: httpx.Response) -> TransferError:
    """The error for an object store's answer, following score-client's S3 status mapping."""
    status = response.status_code
    reason = server_message(response)
    if status == 403:
        return UrlRefused(f"{what}: the object store refused the URL ({reason})")
    if status == 400 and any(word in reason.lower() for word in ("digest", "md5")):
        # S3 BadDigest/InvalidDigest, Azure Md5Mismatch, Azurite "contentMD5 doesn't match"
        return ChecksumMismatch(f"{what}: the bytes arrived damaged ({reason}); sending again")
    if status == 400 and (not reason or "RequestTimeout" in reason):
        return Retryable(f"{what}: the object store timed out ({reason})")
    if status in (400, 404, 405, 411, 416):
        return TransferError(f"{what}: the object store refused the request ({status}: {reason})")
    return Retryable(f"{what}: the object store failed ({status}: {reason})")
