"""The engine's building blocks on their own: backoff, the event bus, a part's job and the sink
that writes a downloaded part, fed by real http.client responses over an in-memory socket."""

from __future__ import annotations

import asyncio
import hashlib
import http.client
import io
import os
import random
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from score_tui.client.backoff import Backoff
from score_tui.client.errors import Retryable
from score_tui.engine.bandwidth import BandwidthLimiter
from score_tui.engine.events import EventBus, TransferQueued
from score_tui.engine.part_job import PartJob, Stopped
from score_tui.engine.part_sink import PartSink


class FakeSocket:
    """What http.client.HTTPResponse reads from: the raw bytes of one answer."""

    def __init__(self, raw: bytes) -> None:
        self.raw = raw

    def makefile(self, mode: str) -> io.BufferedReader:
        return io.BufferedReader(io.BytesIO(self.raw))  # type: ignore[arg-type]


def answer(body: bytes, status: str = "206 Partial Content", length: int | None = None) -> Any:
    head = f"HTTP/1.1 {status}\r\nContent-Length: {len(body) if length is None else length}\r\n\r\n"
    response = http.client.HTTPResponse(FakeSocket(head.encode() + body))  # type: ignore[arg-type]
    response.begin()
    return response


@pytest.fixture
def loop() -> Iterator[asyncio.AbstractEventLoop]:
    """A loop the part's progress reports are queued on (nothing here needs it running)."""
    event_loop = asyncio.new_event_loop()
    yield event_loop
    event_loop.close()


@pytest.fixture
def target(tmp_path: Path) -> Iterator[int]:
    fd = os.open(tmp_path / "file", os.O_RDWR | os.O_CREAT, 0o600)
    yield fd
    os.close(fd)


def test_backoff_doubles_with_jitter_up_to_its_cap() -> None:
    random.seed(7)
    backoff = Backoff(attempts=8, base=0.5, cap=4.0)
    for failures, ceiling in [(1, 0.5), (2, 1.0), (3, 2.0), (4, 4.0), (9, 4.0)]:
        for _ in range(50):
            assert ceiling / 2 <= backoff.delay(failures) <= ceiling


def test_the_event_bus_reaches_every_subscriber_despite_a_failing_one() -> None:
    bus = EventBus()
    seen: list[str] = []

    def failing(_: object) -> None:
        raise RuntimeError("a broken progress view")

    bus.subscribe(failing)
    unsubscribe = bus.subscribe(lambda event: seen.append("first"))
    bus.subscribe(lambda event: seen.append("second"))
    event = TransferQueued(transfer=None)  # type: ignore[arg-type]
    bus.publish(event)
    unsubscribe()
    bus.publish(event)
    assert seen == ["first", "second", "second"]


def test_a_stopped_job_refuses_its_socket_and_ends_a_paced_wait(
    loop: asyncio.AbstractEventLoop,
) -> None:
    job = PartJob(loop, lambda count: None)
    limiter = BandwidthLimiter(1.0)  # one byte a second: a megabyte would wait 12 days
    limiter.reserve(1)  # the burst is spent
    job.stop()
    with pytest.raises(Stopped):
        job.pace(limiter, 1024 * 1024)
    with pytest.raises(Stopped):
        job.attach(FakeSocket(b""))  # type: ignore[arg-type]


def test_the_sink_writes_the_part_at_its_offset_and_hashes_it(
    loop: asyncio.AbstractEventLoop, target: int
) -> None:
    body = os.urandom(3 * 1024 * 1024 + 17)
    reported: list[int] = []
    job = PartJob(loop, reported.append)
    sink = PartSink(target, write_at=1000, size=len(body), digest=True, room=None)
    sink.receive(job, BandwidthLimiter(), answer(body), tls=False, stall_timeout=5)
    assert os.pread(target, len(body), 1000) == body
    assert sink.hexdigest() == hashlib.md5(body).hexdigest()  # noqa: S324
    assert sink.received == len(body)


def test_the_sink_refuses_more_bytes_than_the_part_holds(
    loop: asyncio.AbstractEventLoop, target: int
) -> None:
    sink = PartSink(target, write_at=0, size=10, digest=True, room=None)
    with pytest.raises(Retryable):
        sink.receive(PartJob(loop, print), BandwidthLimiter(), answer(b"x" * 11), False, 5)


def test_a_whole_object_instead_of_the_range_is_noticed_not_written(
    loop: asyncio.AbstractEventLoop, target: int
) -> None:
    sink = PartSink(target, write_at=0, size=10, digest=True, room=None)
    whole = answer(b"y" * 50, status="200 OK")
    sink.receive(PartJob(loop, print), BandwidthLimiter(), whole, False, 5)
    assert sink.ignored_range
    assert os.pread(target, 50, 0) == b""


def test_the_sink_waits_for_room_and_stops_when_told(
    loop: asyncio.AbstractEventLoop, target: int
) -> None:
    """A part ahead of the whole-file MD5 waits; stopping the part ends it."""
    job = PartJob(loop, print)
    asked: list[int] = []

    def room(up_to: int, stopped: threading.Event) -> bool:
        asked.append(up_to)
        job.stop()
        return True

    sink = PartSink(target, write_at=0, size=10, digest=False, room=room)
    with pytest.raises(Stopped):
        sink.receive(job, BandwidthLimiter(), answer(b"z" * 10), False, 5)
    assert asked == [10]
