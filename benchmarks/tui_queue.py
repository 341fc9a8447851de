"""How the terminal UI keeps up with a large queue: 100 transfers of 100 parts (10,000 parts).

Headless (Textual's pilot), on a journal holding the queue. While part events pour in at a
given rate (as the engine publishes them: a part moving, its bytes, the part done), it measures
the time of each screen update (redraw of the changed rows), and how long keys take to act:
`/` to the filter field, typing a filter, Enter to a transfer's parts grid. Beside it, the same
app on an empty queue in the same run (where typing and Enter have nothing to do).

With `--live`, the app moves real files while it is measured: a mix of one SIZE file and 500
files of 64 KiB, added as one upload (registered with Song, published) and then downloaded by
analysis, through a broker on the local store, the engine running in the app's own event loop.
The same keys are timed again and again while the transfers run, beside the idle app.

    .venv/bin/python -m benchmarks.tui_queue [--transfers 100] [--parts 100] [--events 20000]
    .venv/bin/python -m benchmarks.tui_queue --live [--size-mib 1024] [--small 500]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import httpx
from textual import events

from score_tui.app import TransferApp
from score_tui.config import Settings
from score_tui.engine.events import PartChanged, PartProgress
from score_tui.engine.model import PartState, State
from score_tui.planning.requests import DownloadRequest, UploadRequest
from score_tui.screens.detail import TransferDetailScreen
from tests.support.broker import BrokerProcess
from tests.support.large_queue import PART, write_large_journal
from tests.support.sample_queue import SERVER, SampleApp, sample_settings

MIB = 1024 * 1024


async def until(pilot: object, condition: Callable[[], bool]) -> None:
    """Poll the app's state (not the pilot, whose pauses wait for an idle app: under a
    constant flood of events that never comes soon)."""
    while not condition():
        await asyncio.sleep(0.001)


async def key(app: object, name: str, character: str | None) -> None:
    """A key as the terminal driver delivers it (the pilot's press waits for idle too)."""
    app.post_message(events.Key(name, character))  # type: ignore[attr-defined]


def timed_redraws(app: TransferApp) -> list[float]:
    """The app's screen updates from now on, each one's seconds appended to the list."""
    redraws: list[float] = []
    original = app.redraw

    def timed_redraw() -> None:
        start = time.perf_counter()
        original()
        redraws.append(time.perf_counter() - start)

    app.redraw = timed_redraw  # type: ignore[method-assign]
    return redraws


async def measure(
    home: Path, transfers: int, parts: int, events_per_second: int
) -> dict[str, float]:
    journal = home / "state" / "score-tui" / "journal.sqlite"
    ids = write_large_journal(journal, SERVER, transfers, parts) if transfers else []
    app = SampleApp(sample_settings(home))
    redraws = timed_redraws(app)
    keys: dict[str, float] = {}
    async with app.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: len(app.live.views) == transfers)
        for transfer_id in ids:
            app.live.views[transfer_id].transfer.state = State.RUNNING

        async def flood() -> None:
            publish = app.engine.events.publish
            sent, start = 0, time.perf_counter()
            number = parts // 4
            while ids and sent < events_per_second * 3:
                for transfer_id in ids:
                    part = number % parts + 1
                    publish(PartChanged(transfer_id, part, PartState.MOVING))
                    publish(PartProgress(transfer_id, part, PART // 2))
                    publish(PartChanged(transfer_id, part, PartState.DONE))
                    sent += 3
                number += 1
                ahead = sent / events_per_second - (time.perf_counter() - start)
                await asyncio.sleep(max(ahead, 0))

        flooding = asyncio.create_task(flood())
        await pilot.pause(0.5)
        redraws.clear()
        start = time.perf_counter()
        await key(app, "slash", "/")
        await until(pilot, lambda: app.screen.query_one("#filter").has_focus)
        keys["/ to filter field"] = time.perf_counter() - start
        name = "sample-050" if transfers else "nothing"
        start = time.perf_counter()
        for character in name:
            await key(app, character if character.isalnum() else "minus", character)
        table = app.screen.query_one("#queue")
        await until(pilot, lambda: table.row_count <= 1)
        keys["type a filter (10 keys)"] = time.perf_counter() - start
        await key(app, "enter", "\r")
        await until(pilot, lambda: app.screen.query_one("#queue").has_focus)
        start = time.perf_counter()
        await key(app, "enter", "\r")
        if transfers:
            await until(pilot, lambda: isinstance(app.screen, TransferDetailScreen))
            await pilot.pause()
        keys["Enter to parts grid"] = time.perf_counter() - start
        await pilot.pause(1.0)
        await flooding
    return {
        "redraw p50 ms": 1000 * statistics.median(redraws),
        "redraw max ms": 1000 * max(redraws),
        **{f"{k} ms": 1000 * v for k, v in keys.items()},
    }


async def key_rounds(
    app: TransferApp, pilot: object, done: Callable[[], bool]
) -> dict[str, list[float]]:
    """Time `/`, typing a filter and Esc, again and again until `done()` (at least once)."""
    timings: dict[str, list[float]] = {"/ to filter field": [], "type a filter (5 keys)": []}
    while True:
        start = time.perf_counter()
        await key(app, "slash", "/")
        await until(pilot, lambda: app.screen.query_one("#filter").has_focus)
        timings["/ to filter field"].append(time.perf_counter() - start)
        start = time.perf_counter()
        field = app.screen.query_one("#filter")
        for character in "f0001":
            await key(app, character, character)
        await until(pilot, lambda field=field: getattr(field, "value", "") == "f0001")
        timings["type a filter (5 keys)"].append(time.perf_counter() - start)
        await key(app, "escape", None)
        await until(pilot, lambda: app.screen.query_one("#queue").has_focus)
        if done():
            return timings
        await asyncio.sleep(0.2)


async def measure_live(home: Path, size_mib: int, small: int, moving: bool) -> dict[str, float]:
    """The app against a real broker, idle or moving the mix; its screen and key times."""
    files = home / "files"
    files.mkdir()
    if moving:
        with open(files / "big.bin", "wb") as handle:
            for _ in range(size_mib // 64):
                handle.write(os.urandom(64 * MIB))
        for number in range(small):
            (files / f"f{number:04d}.bin").write_bytes(os.urandom(64 * 1024))
    config = {
        "server": {"log_level": "warning", "data_directory": str(home / "broker")},
        "storage": {"backend": "local", "local": {"directory": str(home / "store")}},
        "song": {"url": "embedded"},
        "auth": {"enabled": True},
    }
    broker = BrokerProcess(config, home / "brokers").start()
    try:
        token = (home / "broker" / "admin-key").read_text().strip()
        settings = Settings(
            profile="bench",
            server_url=broker.url,
            metadata_url=f"{broker.url}/song",
            token=token,
            token_source="benchmark",
            config_file=home / "config.toml",
        )
        app = TransferApp(settings, resume_on_start=False)
        redraws = timed_redraws(app)
        results: dict[str, float] = {}
        async with app.run_test(size=(120, 40)) as pilot:
            await until(pilot, lambda: app.broker_status.startswith("connected"))
            timings: dict[str, list[float]] = {}
            if not moving:
                for _ in range(10):
                    for name, values in (await key_rounds(app, pilot, lambda: True)).items():
                        timings.setdefault(name, []).extend(values)
            for direction in ("upload", "download") if moving else ():
                started = time.perf_counter()
                if direction == "upload":
                    names = sorted(str(p) for p in files.iterdir())
                    app.add_uploads(UploadRequest(files=tuple(Path(n) for n in names),
                                                  study="LIVE", access="open", publish=True,
                                                  verify_connection=False))  # fmt: skip
                else:
                    song = httpx.get(f"{broker.url}/song/studies/LIVE/analysis", timeout=30)
                    analysis = song.json()[0]["analysisId"]
                    app.add_downloads(DownloadRequest(analysis_id=analysis, study_id="LIVE",
                                                      output_dir=home / "out", index=False,
                                                      verify_connection=False))  # fmt: skip
                wanted = len(list(files.iterdir()))

                def finished(direction: str = direction, wanted: int = wanted) -> bool:
                    views = [v for v in app.live.views.values()
                             if v.transfer.direction.value == direction]  # fmt: skip
                    return len(views) == wanted and all(
                        v.transfer.state == State.DONE for v in views
                    )

                await until(pilot, lambda: len(app.live.views) > 0)
                redraws.clear()
                for name, values in (await key_rounds(app, pilot, finished)).items():
                    timings.setdefault(name, []).extend(values)
                await until(pilot, finished)
                if direction == "upload":
                    await until(
                        pilot,
                        lambda: (
                            httpx.get(f"{broker.url}/song/studies/LIVE/analysis", timeout=30).json()
                            != []
                        ),
                    )
                results[f"{direction} s"] = time.perf_counter() - started
            results["redraw p50 ms"] = 1000 * statistics.median(redraws)
            results["redraw max ms"] = 1000 * max(redraws)
            for name, values in timings.items():
                results[f"{name} p50 ms"] = 1000 * statistics.median(values)
                results[f"{name} max ms"] = 1000 * max(values)
            await app.action_quit()
        return results
    finally:
        broker.stop()


def live(size_mib: int, small: int) -> None:
    results = {}
    for label, moving in (("idle", False), (f"{size_mib} MiB + {small} x 64 KiB", True)):
        with tempfile.TemporaryDirectory() as directory:
            home = Path(directory)
            for name in ("CONFIG", "STATE", "DATA", "CACHE"):
                os.environ[f"XDG_{name}_HOME"] = str(home / name.lower())
            results[label] = asyncio.run(measure_live(home, size_mib, small, moving))
    labels = list(results)
    print(f"\n{'':34}" + "".join(f"{label:>28}" for label in labels))
    for metric in results[labels[1]]:
        row = "".join(
            f"{results[label][metric]:28.1f}" if metric in results[label] else f"{'-':>28}"
            for label in labels
        )
        print(f"{metric:34}{row}")
    print("\nkeys timed again and again while the transfers run; screen updates every 0.25 s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--transfers", type=int, default=100)
    parser.add_argument("--parts", type=int, default=100)
    parser.add_argument("--events", type=int, default=20_000, help="part events per second")
    parser.add_argument("--live", action="store_true", help="move a real mix of files")
    parser.add_argument("--size-mib", type=int, default=1024)
    parser.add_argument("--small", type=int, default=500)
    args = parser.parse_args()
    if args.live:
        live(args.size_mib, args.small)
        return
    results = {}
    for label, transfers in (
        ("empty queue", 0),
        (f"{args.transfers} x {args.parts}", args.transfers),
    ):
        with tempfile.TemporaryDirectory() as directory:
            home = Path(directory)
            for name in ("CONFIG", "STATE", "DATA", "CACHE"):
                os.environ[f"XDG_{name}_HOME"] = str(home / name.lower())
            results[label] = asyncio.run(measure(home, transfers, args.parts, args.events))
    labels = list(results)
    print(f"\n{'':28}" + "".join(f"{label:>16}" for label in labels))
    for metric in results[labels[1]]:
        print(f"{metric:28}" + "".join(f"{results[label][metric]:16.1f}" for label in labels))
    print(f"\npart events: {args.events}/s for 3 s; screen updates every 0.25 s")


if __name__ == "__main__":
    os.environ.setdefault("PYTHON_KEYRING_BACKEND", "keyring.backends.null.Keyring")
    main()
