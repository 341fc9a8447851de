"""One part moving in a thread: how the event loop stops it, hears of its progress, and caps
its speed."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
from collections.abc import Callable

from score_tui.engine.bandwidth import BandwidthLimiter

#: Progress is reported to the event loop in steps of at least this many bytes.
REPORT_STEP = 1024 * 1024

OnBytes = Callable[[int], None]


class Stopped(Exception):
    """The part was stopped from the event loop (pause, cancel)."""


class PartJob:
    """One part in a thread: its socket, so the event loop can cut it off, and its progress."""

    def __init__(self, loop: asyncio.AbstractEventLoop, on_bytes: OnBytes) -> None:
        self.stopped = threading.Event()
        self._loop = loop
        self._on_bytes = on_bytes
        self._unreported = 0
        self._lock = threading.Lock()
        self._sock: socket.socket | None = None

    def attach(self, sock: socket.socket) -> None:
        """The socket a stop cuts; raises Stopped if the part was stopped already."""
        with self._lock:
            self._sock = sock
        if self.stopped.is_set():
            raise Stopped

    def detach(self) -> None:
        with self._lock:
            self._sock = None

    def stop(self) -> None:
        self.stopped.set()
        with self._lock:
            if self._sock is not None:
                with contextlib.suppress(OSError):
                    self._sock.shutdown(socket.SHUT_RDWR)

    def moved(self, count: int) -> None:
        self._unreported += count
        if self._unreported >= REPORT_STEP:
            self.flush()

    def flush(self) -> None:
        if self._unreported:
            self._loop.call_soon_threadsafe(self._on_bytes, self._unreported)
            self._unreported = 0

    def pace(self, limiter: BandwidthLimiter, count: int) -> None:
        """Wait as the bandwidth cap says before moving `count` bytes; a stop ends the wait."""
        wait = limiter.reserve(count)
        if wait and self.stopped.wait(wait):
            raise Stopped
