"""The line above the queue: overall progress, throughput, counts by state and the broker."""

from __future__ import annotations

from rich.progress_bar import ProgressBar
from rich.table import Table
from rich.text import Text
from textual.widgets import Static

from score_tui.engine.model import State
from score_tui.live_queue import LiveQueue
from score_tui.units import human_rate, human_size


def summary(live: LiveQueue, broker: str) -> Table:
    done, total, speed = live.totals()
    counts = live.counts()
    shown = ", ".join(
        f"{counts[state]} {state.value}"
        for state in State
        if counts[state] and state != "cancelled"
    )
    grid = Table.grid(padding=(0, 2), expand=True)
    grid.add_column(ratio=1)
    grid.add_column(no_wrap=True)
    share = f"{100 * done / total:5.1f}%" if total else "    -"
    grid.add_row(
        ProgressBar(total=max(total, 1), completed=done),
        Text(f"{share}  {human_size(done)} of {human_size(total)}  {human_rate(speed)}"),
    )
    grid.add_row(Text(f"{shown or 'queue empty'} · broker {broker}", style="dim"), "")
    return grid


class QueueSummary(Static):
    """Overall progress and throughput, always visible on the queue screen."""

    def show(self, live: LiveQueue, broker: str) -> None:
        self.update(summary(live, broker))
