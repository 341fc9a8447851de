"""A transfer's parts as a grid of coloured cells; thousands of parts fold into fewer cells.

A folded cell shows the most telling state of its parts: failed, then moving, verifying,
queued, and done only when all of its parts are done. A failure is never folded away.
"""

from __future__ import annotations

import math

from rich.console import Group
from rich.text import Text
from textual.widget import Widget

from score_tui.engine.model import PartState
from score_tui.live_queue import PartView

CELL = "■ "
STYLES = {
    PartState.QUEUED: "grey37",
    PartState.MOVING: "bold cyan",
    PartState.VERIFYING: "bold magenta",
    PartState.DONE: "green",
    PartState.FAILED: "bold red",
}
PRIORITY = (
    PartState.FAILED,
    PartState.MOVING,
    PartState.VERIFYING,
    PartState.QUEUED,
    PartState.DONE,
)


def fold(parts: list[PartView], cells: int) -> tuple[int, list[PartState]]:
    """Parts per cell and each cell's state, for at most `cells` cells."""
    if not parts:
        return 1, []
    per_cell = max(1, math.ceil(len(parts) / max(cells, 1)))
    states: list[PartState] = []
    for start in range(0, len(parts), per_cell):
        present = {p.state for p in parts[start : start + per_cell]}
        states.append(next(s for s in PRIORITY if s in present))
    return per_cell, states


class PartGrid(Widget):
    """The parts of one transfer; `parts` is set by the detail screen."""

    DEFAULT_CSS = "PartGrid { height: auto; }"
    MAX_ROWS = 14

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.parts: list[PartView] = []

    def render(self) -> Group:
        columns = max(1, (self.size.width or 80) // len(CELL))
        per_cell, states = fold(self.parts, columns * self.MAX_ROWS)
        grid = Text()
        for index, state in enumerate(states):
            if index and index % columns == 0:
                grid.append("\n")
            grid.append(CELL, style=STYLES[state])
        legend = Text()
        for state in PartState:
            legend.append("■ ", style=STYLES[state]).append(f"{state.value}  ")
        if per_cell > 1:
            legend.append(f"(one cell: {per_cell} parts)", style="dim")
        return Group(grid, legend)
