"""100 transfers and 10,000 parts: the screens keep up with a flood of part events, the
filter and the detail screen work, and failures stay visible in a folded parts grid."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from rich.console import Console

from score_tui.engine.events import PartChanged, PartProgress
from score_tui.engine.model import PartState, State
from score_tui.screens.detail import TransferDetailScreen
from score_tui.widgets.part_grid import STYLES, PartGrid
from tests.support.large_queue import PART, write_large_journal
from tests.support.sample_queue import SERVER, sample_app
from tests.tui.conftest import until

pytestmark = pytest.mark.anyio


async def test_a_large_queue_stays_usable(user_home: Path) -> None:
    journal = user_home / "state" / "score-tui" / "journal.sqlite"
    ids = write_large_journal(journal, SERVER, transfers=100, parts=100)
    app = sample_app(user_home)
    async with app.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: len(app.live.views) == 100)
        table = app.screen.query_one("#queue")
        assert table.row_count == 100
        publish = app.engine.events.publish
        for transfer_id in ids:  # every part of every transfer moves and lands
            app.live.views[transfer_id].transfer.state = State.RUNNING
            for number in range(26, 101):
                publish(PartChanged(transfer_id, number, PartState.MOVING))
                publish(PartProgress(transfer_id, number, PART))
                app.live.views[transfer_id].transfer.bytes_done += PART
                publish(PartChanged(transfer_id, number, PartState.DONE))
        publish(PartChanged(ids[7], 5000 // 100, PartState.FAILED, "the store refused"))
        await pilot.pause(0.6)
        assert "100.0%" in plain(table.get_cell(ids[0], "progress"))
        assert "75.0%" not in plain(table.get_cell(ids[99], "progress"))

        await pilot.press("slash", *"sample-007")
        await until(pilot, lambda: table.row_count == 1)
        await pilot.press("enter", "enter")
        await until(pilot, lambda: isinstance(app.screen, TransferDetailScreen))
        grid = app.screen.query_one(PartGrid)
        assert len(grid.parts) == 100
        assert [p.number for p in grid.parts if p.state == PartState.FAILED] == [50]
        assert STYLES[PartState.FAILED] in {
            span.style for span in grid.render().renderables[0].spans
        }


def plain(renderable: object) -> str:
    console = Console(width=60, file=io.StringIO(), record=True)
    console.print(renderable)
    return console.export_text()
