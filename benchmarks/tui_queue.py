"""How the terminal UI keeps up with a large queue: 100 transfers of 100 parts (10,000 parts).

Headless (Textual's pilot), on a journal holding the queue. While part events pour in at a
given rate (as the engine publishes them: a part moving, its bytes, the part done), it measures
the time of each screen update (redraw of the changed rows), and how long keys take to act:
`/` to the filter field, typing a filter, Enter to a transfer's parts grid. Beside it, the same
app on an empty queue in the same run (where typing and Enter have nothing to do).

    .venv/bin/python -m benchmarks.tui_queue [--transfers 100] [--parts 100] [--events 20000]
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

from textual import events

from score_tui.engine.events import PartChanged, PartProgress
from score_tui.engine.model import PartState, State
from score_tui.screens.detail import TransferDetailScreen
from tests.support.large_queue import PART, write_large_journal
from tests.support.sample_queue import SERVER, SampleApp, sample_settings


async def until(pilot: object, condition: Callable[[], bool]) -> None:
    """Poll the app's state (not the pilot, whose pauses wait for an idle app: under a
    constant flood of events that never comes soon)."""
    while not condition():
        await asyncio.sleep(0.001)


async def key(app: object, name: str, character: str | None) -> None:
    """A key as the terminal driver delivers it (the pilot's press waits for idle too)."""
    app.post_message(events.Key(name, character))  # type: ignore[attr-defined]


async def measure(
    home: Path, transfers: int, parts: int, events_per_second: int
) -> dict[str, float]:
    journal = home / "state" / "score-tui" / "journal.sqlite"
    ids = write_large_journal(journal, SERVER, transfers, parts) if transfers else []
    app = SampleApp(sample_settings(home))
    redraws: list[float] = []
    original = app.redraw

    def timed_redraw() -> None:
        start = time.perf_counter()
        original()
        redraws.append(time.perf_counter() - start)

    app.redraw = timed_redraw  # type: ignore[method-assign]
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--transfers", type=int, default=100)
    parser.add_argument("--parts", type=int, default=100)
    parser.add_argument("--events", type=int, default=20_000, help="part events per second")
    args = parser.parse_args()
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
