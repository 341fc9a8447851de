"""Where a part's GET goes: its bytes written at their place in the file, hashed if asked.

On a plain-HTTP connection, a part that need not be hashed on the way goes from the socket to
the file with splice(2): the kernel moves the socket's pages into a pipe and copies them once,
into the file's pages. Reading them into Python first (recv_into, then pwrite) costs two copies
and most of a download's system time: for 1 GiB from Ceph RGW here, 0.4 s against 1.7 s.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import http.client
import os
import selectors
import threading
from collections.abc import Callable

from score_tui.client.errors import Retryable
from score_tui.engine.bandwidth import BandwidthLimiter
from score_tui.engine.part_job import PartJob, Stopped

CHUNK = 1024 * 1024
#: Parts smaller than this are read the plain way (keeping their connection for the next).
SPLICE_MIN = 4 * 1024 * 1024
#: Called by a part thread before it writes up to a file offset: waits while it may not;
#: False once waiting is pointless (the part is then written unpaced).
Room = Callable[[int, threading.Event], bool]
_F_SETPIPE_SZ = getattr(fcntl, "F_SETPIPE_SZ", 1031)


class PartSink:
    """The bytes [0, size) of a GET's body, written at `write_at` of the open file `fd`."""

    def __init__(self, fd: int, write_at: int, size: int, digest: bool, room: Room | None) -> None:
        self.fd = fd
        self.room = room
        self.write_at = write_at
        self.size = size
        self.received = 0
        self.ignored_range = False
        #: Whether the connection may carry another request (not after a splice).
        self.reusable = True
        self._md5 = hashlib.md5(usedforsecurity=False) if digest else None

    def receive(
        self,
        job: PartJob,
        limiter: BandwidthLimiter,
        response: http.client.HTTPResponse,
        tls: bool,
        stall_timeout: float,
    ) -> None:
        length = response.getheader("Content-Length")
        whole = response.status == 200 and length is not None and length.isdigit()
        if whole and int(length or 0) != self.size:
            self.ignored_range = True
            return
        spliced = (
            self._md5 is None
            and not response.chunked
            and length == str(self.size)
            and self.size >= SPLICE_MIN
            and hasattr(os, "splice")
            and not tls
            and response.fp is not None
        )
        if not spliced:
            self._read(job, limiter, response)
            return
        self.reusable = False
        # What http.client read past the headers comes first; the rest is still in the socket.
        assert response.fp is not None
        self._write(job, limiter, memoryview(response.fp.read1(min(CHUNK, self.size))))
        if self.received < self.size:
            self._splice(job, limiter, response.fp.fileno(), stall_timeout)

    def _read(
        self, job: PartJob, limiter: BandwidthLimiter, response: http.client.HTTPResponse
    ) -> None:
        buffer = bytearray(min(CHUNK, self.size) or 1)
        view = memoryview(buffer)
        while True:
            self._wait_for_room(job, len(buffer))
            count = response.readinto(view)
            if not count:
                return
            self._write(job, limiter, view[:count])

    def _wait_for_room(self, job: PartJob, coming: int) -> None:
        """Pace this part behind the whole-file MD5; unpaced from the moment the MD5 is stuck."""
        if self.room is not None and not self.room(
            self.write_at + self.received + coming, job.stopped
        ):
            self.room = None

    def _write(self, job: PartJob, limiter: BandwidthLimiter, chunk: memoryview) -> None:
        count = len(chunk)
        if not count:
            return
        if self.received + count > self.size:
            raise Retryable("the store sent more bytes than the part holds")
        written = 0
        while written < count:
            place = self.write_at + self.received + written
            written += os.pwrite(self.fd, chunk[written:], place)
        if self._md5 is not None:
            self._md5.update(chunk)
        self._moved(job, limiter, count)

    def _moved(self, job: PartJob, limiter: BandwidthLimiter, count: int) -> None:
        self.received += count
        job.moved(count)
        if limiter.rate is not None:
            job.pace(limiter, count)
        if job.stopped.is_set():
            raise Stopped

    def _splice(
        self, job: PartJob, limiter: BandwidthLimiter, source: int, stall_timeout: float
    ) -> None:
        pipe_out, pipe_in = os.pipe()
        try:
            with contextlib.suppress(OSError):
                fcntl.fcntl(pipe_in, _F_SETPIPE_SZ, CHUNK)
            with selectors.DefaultSelector() as waiting:
                waiting.register(source, selectors.EVENT_READ)
                while self.received < self.size:
                    want = min(CHUNK, self.size - self.received)
                    self._wait_for_room(job, want)
                    try:
                        count = os.splice(source, pipe_in, want)
                    except BlockingIOError:
                        if job.stopped.is_set():
                            raise Stopped from None
                        if not waiting.select(stall_timeout):
                            raise TimeoutError from None
                        continue
                    if count == 0:
                        return  # the connection closed early: the caller sees the shortfall
                    moved = 0
                    while moved < count:
                        place = self.write_at + self.received + moved
                        moved += os.splice(pipe_out, self.fd, count - moved, offset_dst=place)
                    self._moved(job, limiter, count)
        finally:
            os.close(pipe_out)
            os.close(pipe_in)

    def hexdigest(self) -> str | None:
        return self._md5.hexdigest() if self._md5 is not None else None
