"""Pause, resume and cancel through the engine's API (what the TUI's keys call), against a
broker over HTTP: each takes effect within a second and loses no finished part."""

from __future__ import annotations

import asyncio
import hashlib
import os
import time
from pathlib import Path

from score_tui.client.score import ScoreApi
from score_tui.engine.engine import Engine
from score_tui.engine.events import Event, PartChanged, TransferChanged
from score_tui.engine.journal import Journal
from score_tui.engine.model import Direction, PartState, State, Transfer
from score_tui.engine.settings import EngineSettings
from tests.conftest import BrokerFactory
from tests.support.song import SongClient, register

STUDY = "TEST-CA"


def test_pause_resume_and_cancel_take_effect_within_a_second(
    broker_factory: BrokerFactory, tmp_path: Path, content_150mb: bytes
) -> None:
    storage = {"backend": "local", "local": {"directory": str(tmp_path / "store")}}
    broker = broker_factory(storage, song={"url": "embedded"})
    ids = register(f"{broker.url}/song", STUDY, {"f.vcf": (content_150mb, "open")})
    object_id = ids["f.vcf"]
    source = tmp_path / "f.vcf"
    source.write_bytes(content_150mb)
    out = tmp_path / "out"

    async def scenario() -> None:
        api = ScoreApi(broker.url)
        journal = Journal(tmp_path / "journal.sqlite")
        settings = EngineSettings(concurrency=2, per_transfer=2, bandwidth_limit=40e6)
        engine = Engine(api, journal, tmp_path / "locks", settings)
        reached: dict[tuple[str, str], asyncio.Event] = {}

        def event(transfer_id: str, name: str) -> asyncio.Event:
            return reached.setdefault((transfer_id, name), asyncio.Event())

        def listen(e: Event) -> None:
            if isinstance(e, PartChanged) and e.state == PartState.DONE:
                event(e.transfer_id, "part done").set()
            if isinstance(e, TransferChanged):
                event(e.transfer.id, e.state.value).set()

        engine.events.subscribe(listen)
        up = engine.add(
            Transfer(
                Direction.UPLOAD,
                object_id,
                broker.url,
                str(source),
                "f.vcf",
                md5=hashlib.md5(content_150mb, usedforsecurity=False).hexdigest(),
            )
        )
        engine.start(up.id)
        await event(up.id, "part done").wait()
        asked = time.monotonic()
        engine.pause(up.id)
        await asyncio.wait_for(event(up.id, "paused").wait(), 1.0)
        assert time.monotonic() - asked < 1.0
        assert not engine.is_running(up.id)
        assert journal.get(up.id).state == State.PAUSED
        finished = {p.number for p in journal.parts(up.id) if p.done}
        assert finished

        engine.set_bandwidth_limit(None)
        engine.resume(up.id)
        await engine.wait([up.id])
        assert up.state == State.DONE, up.error
        log = broker.log_text()
        for number in finished:
            assert log.count(f"partNumber={number}&offset=") == 1, f"part {number} sent again"

        song = SongClient(f"{broker.url}/song")
        assert song.publish(STUDY, ids["analysis"]).status_code == 200
        song.close()
        engine.set_bandwidth_limit(40e6)
        down = engine.add(
            Transfer(Direction.DOWNLOAD, object_id, broker.url, str(out / "f.vcf"), "f.vcf")
        )
        engine.start(down.id)
        await event(down.id, "part done").wait()
        asked = time.monotonic()
        engine.cancel(down.id)
        await asyncio.wait_for(event(down.id, "cancelled").wait(), 1.0)
        assert time.monotonic() - asked < 1.0
        assert list(out.iterdir()) == [], "a cancelled download leaves nothing behind"
        assert journal.get(down.id).state == State.CANCELLED

        again = engine.add(
            Transfer(Direction.DOWNLOAD, object_id, broker.url, str(out / "f.vcf"), "f.vcf")
        )
        engine.start(again.id)
        await event(again.id, "part done").wait()
        engine.pause_all()
        await asyncio.wait_for(event(again.id, "paused").wait(), 1.0)
        engine.set_bandwidth_limit(None)
        engine.resume_all()
        await engine.wait()
        assert again.state == State.DONE, again.error
        assert (out / "f.vcf").read_bytes() == content_150mb

        # Cancelling a paused download drops its temporary file too.
        engine.set_bandwidth_limit(40e6)
        third = engine.add(
            Transfer(Direction.DOWNLOAD, object_id, broker.url, str(out / "g.vcf"), "g.vcf")
        )
        engine.start(third.id)
        await event(third.id, "part done").wait()
        engine.pause(third.id)
        await asyncio.wait_for(event(third.id, "paused").wait(), 1.0)
        assert any(p.name.endswith(".partial") for p in out.iterdir())
        engine.cancel(third.id)
        assert journal.get(third.id).state == State.CANCELLED
        assert sorted(p.name for p in out.iterdir()) == ["f.vcf"]

        await engine.aclose()
        await api.aclose()
        journal.close()

    asyncio.run(scenario())


def test_small_files_are_not_held_behind_big_ones(
    broker_factory: BrokerFactory, tmp_path: Path
) -> None:
    """`active_transfers` limits the big files moving at once; small files go past them."""
    storage = {"backend": "local", "local": {"directory": str(tmp_path / "store")}}
    broker = broker_factory(storage, song={"url": "embedded"})
    files = {f"big{i}.bin": os.urandom(24 * 1024 * 1024) for i in range(2)}
    files |= {f"small{i:02}.txt": os.urandom(64 * 1024) for i in range(20)}
    ids = register(f"{broker.url}/song", STUDY, {n: (data, "open") for n, data in files.items()})
    for name, data in files.items():
        (tmp_path / name).write_bytes(data)

    async def scenario() -> list[tuple[str, State]]:
        journal = Journal(tmp_path / "journal.sqlite")
        settings = EngineSettings(active_transfers=1, bandwidth_limit=30e6)
        engine = Engine(ScoreApi(broker.url), journal, tmp_path / "locks", settings)
        names: dict[str, str] = {}
        seen: list[tuple[str, State]] = []

        def listen(e: Event) -> None:
            if isinstance(e, TransferChanged) and e.state in (State.RUNNING, State.DONE):
                seen.append((names[e.transfer.id], e.state))

        engine.events.subscribe(listen)
        for name, data in files.items():  # the big ones first in the queue
            md5 = hashlib.md5(data, usedforsecurity=False).hexdigest()
            transfer = Transfer(
                Direction.UPLOAD, ids[name], broker.url, str(tmp_path / name), name, md5=md5
            )
            names[engine.add(transfer).id] = name
        for transfer_id in names:
            engine.start(transfer_id)
        await engine.wait()
        failed = [engine.transfer(i).error for i in names if engine.transfer(i).state != State.DONE]
        await engine.aclose()
        journal.close()
        assert not failed, failed
        return seen

    seen = asyncio.run(scenario())
    big_done = [seen.index((f"big{i}.bin", State.DONE)) for i in range(2)]
    small_done = [seen.index((name, State.DONE)) for name in files if name.startswith("small")]
    assert max(small_done) < min(big_done), "every small file finished before the first big one"
    assert (
        seen.index(("big1.bin", State.RUNNING)) > big_done[0]
        or seen.index(("big0.bin", State.RUNNING)) > big_done[1]
    ), "one big file at a time (active_transfers = 1)"
