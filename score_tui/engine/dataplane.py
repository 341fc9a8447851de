"""Moving one part's bytes over a pre-signed URL, in a worker thread of its own.

Each part runs on a blocking socket in a thread: an upload goes out with sendfile, straight
from the page cache (TLS: 1 MiB writes), a download goes into the file with splice or pwrite
(`PartSink`). The event loop only starts parts and hears of their progress. Through httpx, a
1 GiB download cost 1.6 s of CPU in h11's parser and the event loop on top of the kernel's
copies; here the Python side costs about 0.05 s, which on a small machine is the difference
between keeping up with the object store and not.

Stopping a part (pause, cancel) shuts its socket down from the event loop, so the thread
returns at once; the coroutine waits for it, so the file is never used after a part ends.
"""

from __future__ import annotations

import asyncio
import contextlib
import http.client
import os
import selectors
import socket
import ssl
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TypeVar

import httpx

from score_tui.client.connections import Connections, Target, quick_ack
from score_tui.client.errors import (
    CertificateRefused,
    ChecksumMismatch,
    Retryable,
    Stalled,
    TransferError,
    UrlRefused,
    server_message,
)
from score_tui.client.score import USER_AGENT
from score_tui.client.tls import refusal_message
from score_tui.engine.bandwidth import BandwidthLimiter
from score_tui.engine.hashing import hex_to_base64
from score_tui.engine.part_job import OnBytes, PartJob, Stopped
from score_tui.engine.part_sink import PartSink, Room

#: Bytes per write on TLS connections and per sendfile call.
CHUNK = 1024 * 1024

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class _Answer:
    status: int
    headers: dict[str, str]
    body: bytes

    def as_httpx(self) -> httpx.Response:
        return httpx.Response(self.status, headers=self.headers, content=self.body)


class DataPlane:
    """Parts over pre-signed URLs; `stall_timeout` bounds any wait for the network."""

    def __init__(
        self,
        limiter: BandwidthLimiter,
        stall_timeout: float,
        workers: int,
        ca_file: str | None = None,
    ) -> None:
        self.limiter = limiter
        self.stall_timeout = stall_timeout
        #: False on stores whose ETags are not MD5s (Azure: `/profile` says `az`); the part's
        #: Content-MD5 is then the store's only check of its bytes.
        self.etags_are_md5 = True
        self._connections = Connections(stall_timeout, ca_file)
        self._threads = ThreadPoolExecutor(max(workers, 1), thread_name_prefix="part")

    async def aclose(self) -> None:
        self._threads.shutdown(wait=False, cancel_futures=True)
        self._connections.close()

    async def _in_thread(
        self, what: str, url: str, on_bytes: OnBytes, work: Callable[[PartJob], T]
    ) -> T:
        loop = asyncio.get_running_loop()
        job = PartJob(loop, on_bytes)

        def run() -> T:
            try:
                return work(job)
            finally:
                job.flush()

        future = loop.run_in_executor(self._threads, run)
        try:
            return await asyncio.shield(future)
        except asyncio.CancelledError:
            job.stop()
            while not future.done():  # the thread must be off the file before we go on
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await asyncio.shield(future)
            raise
        except TimeoutError:
            raise Stalled(
                f"{what}: no bytes moved for {self.stall_timeout:g} s; trying again"
            ) from None
        except (OSError, http.client.HTTPException) as error:
            if message := refusal_message(error, url):
                raise CertificateRefused(message) from None
            raise Retryable(f"{what}: the connection failed ({_describe(error)})") from None

    # -- uploads -----------------------------------------------------------------------------

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
        target = self._connections.target(url)
        answer = await self._in_thread(
            what,
            url,
            on_bytes,
            lambda job: self._exchange(job, target, "PUT", headers, (fd, offset, size), None),
        )
        if answer.status >= 300:
            raise store_error(what, answer.as_httpx())
        etag = answer.headers.get("etag", "").strip().strip('"').lower()
        encrypted = answer.headers.get("x-amz-server-side-encryption") == "aws:kms"
        if self.etags_are_md5 and not encrypted and etag != md5:
            raise ChecksumMismatch(
                f"{what}: the store recorded different bytes (ETag {etag or 'missing'}, "
                f"MD5 sent {md5}); sending it again"
            )
        # Where ETags are not MD5s (Azure blocks), the store checked the Content-MD5 sent.
        return etag if self.etags_are_md5 else md5

    # -- downloads ---------------------------------------------------------------------------

    async def get_part(
        self,
        what: str,
        url: str,
        first: int,
        size: int,
        fd: int,
        write_at: int,
        on_bytes: OnBytes,
        digest: bool = True,
        room: Room | None = None,
    ) -> str | None:
        """GET bytes [first, first+size) and write them at `write_at`; returns their MD5 when
        `digest` (taken from the buffer as it is written, in the part's thread). `room` is
        called before writing up to a file offset, and may wait."""
        headers = {
            "Range": f"bytes={first}-{first + size - 1}",
            "Accept-Encoding": "identity",
            "User-Agent": USER_AGENT,
        }
        target = self._connections.target(url)
        sink = PartSink(fd, write_at, size, digest, room)
        answer = await self._in_thread(
            what, url, on_bytes, lambda job: self._exchange(job, target, "GET", headers, None, sink)
        )
        if answer.status >= 300:
            raise store_error(what, answer.as_httpx())
        if sink.ignored_range:
            raise TransferError(f"{what}: the store ignored the byte range it was asked")
        if sink.received != size:
            raise Retryable(f"{what}: the connection closed after {sink.received} of {size} bytes")
        return sink.hexdigest()

    # -- one exchange, in a part thread --------------------------------------------------------

    def _exchange(
        self,
        job: PartJob,
        target: Target,
        method: str,
        headers: dict[str, str],
        body: tuple[int, int, int] | None,
        sink: PartSink | None,
    ) -> _Answer:
        conn = self._connections.take(target)
        done = False
        try:
            if conn.sock is None:
                conn.connect()
            job.attach(conn.sock)
            conn.putrequest(method, target.request_target, skip_accept_encoding=True)
            for name, value in headers.items():
                conn.putheader(name, value)
            conn.endheaders()
            if body is not None:
                self._send(job, conn.sock, *body)
            sock = conn.sock  # the connection forgets it when the answer says it closes
            quick_ack(sock)
            response = conn.getresponse()
            answer_headers = {name.lower(): value for name, value in response.getheaders()}
            if sink is not None and response.status in (200, 206):
                tls = isinstance(sock, ssl.SSLSocket)
                sink.receive(job, self.limiter, response, tls, self.stall_timeout)
                data = b""
            else:
                data = response.read()
            done = response.isclosed() and not response.will_close
            done = done and (sink is None or sink.reusable)
            return _Answer(response.status, answer_headers, data)
        finally:
            job.detach()
            if done and not job.stopped.is_set():
                self._connections.give_back(target, conn)
            else:
                conn.close()

    def _send(self, job: PartJob, sock: socket.socket, fd: int, offset: int, size: int) -> None:
        """Send `size` bytes of the file from `offset`: sendfile, or writes on TLS."""
        position, end = offset, offset + size
        plain = not isinstance(sock, ssl.SSLSocket)
        with selectors.DefaultSelector() as waiting:
            waiting.register(sock, selectors.EVENT_WRITE)
            while position < end:
                count = min(CHUNK, end - position)
                job.pace(self.limiter, count)
                if plain:
                    try:
                        sent = os.sendfile(sock.fileno(), fd, position, count)
                    except BlockingIOError:
                        sent = -1
                    if sent == 0:
                        raise TransferError("the file became shorter while uploading")
                    if sent < 0:
                        if job.stopped.is_set():
                            raise Stopped
                        if not waiting.select(self.stall_timeout):
                            raise TimeoutError
                        continue
                else:
                    chunk = os.pread(fd, count, position)
                    if len(chunk) != count:
                        raise TransferError("the file became shorter while uploading")
                    sock.sendall(chunk)
                    sent = count
                position += sent
                job.moved(sent)
                if job.stopped.is_set():
                    raise Stopped


def _describe(error: BaseException) -> str:
    text = str(error)
    return f"{type(error).__name__}: {text}" if text else type(error).__name__


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
