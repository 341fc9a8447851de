"""One transfer: what it is, a grid of its parts, the parts in flight and the failures."""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

from rich.console import Group
from rich.progress_bar import ProgressBar
from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer, Header, Static

from score_tui.engine.model import PartState
from score_tui.live_queue import TransferView, md5_label
from score_tui.units import human_duration, human_rate, human_size
from score_tui.widgets.part_grid import PartGrid

if TYPE_CHECKING:
    from score_tui.app import TransferApp

#: Parts in flight listed with their own bar.
IN_FLIGHT_SHOWN = 12
FAILURES_SHOWN = 5


def describe(view: TransferView) -> Table:
    t = view.transfer
    table = Table.grid(padding=(0, 2))
    table.add_column(style="bold")
    table.add_column()
    arrow = "upload ↑" if t.direction == "upload" else "download ↓"
    table.add_row("File", f"{t.file_name}  ({arrow})")
    table.add_row("Object", t.object_id)
    table.add_row("Path", t.path)
    table.add_row(
        "Progress",
        f"{human_size(view.done_bytes)} of {human_size(t.size)} ({100 * view.fraction:.1f}%)  "
        f"{human_rate(view.speed())}  ETA {human_duration(view.eta())}",
    )
    counts = view.part_counts()
    table.add_row(
        "Parts",
        f"{len(view.parts)}: " + ", ".join(f"{n} {s.value}" for s, n in counts.items() if n),
    )
    table.add_row("State", t.state.value + (f": {t.error}" if t.error else ""))
    table.add_row("MD5", md5_label(t) + (f" ({t.md5_note})" if t.md5_note else ""))
    return table


def in_flight(view: TransferView) -> Group:
    moving = [p for p in view.parts if p.state in (PartState.MOVING, PartState.VERIFYING)]
    failed = [p for p in view.parts if p.state == PartState.FAILED]
    table = Table(box=None, padding=(0, 1), show_edge=False, expand=False)
    for label in ("Part", "", "Bytes", "State", "MD5"):
        table.add_column(label)
    for part in moving[:IN_FLIGHT_SHOWN]:
        verifying = part.state == PartState.VERIFYING
        table.add_row(
            f"#{part.number}",
            ProgressBar(total=max(part.size, 1), completed=part.moved, width=30),
            f"{human_size(part.moved)} / {human_size(part.size)}",
            Text(part.state.value, style="magenta" if verifying else "cyan"),
            "checking"
            if verifying
            else "sent with Content-MD5"
            if view.transfer.direction == "upload"
            else "checked on arrival",
        )
    lines: list[Text | Table] = [
        Text(f"In flight: {len(moving)}", style="bold"),
        table if moving else Text("  none", style="dim"),
    ]
    if failed:
        lines.append(Text(f"Failed parts (retrying): {len(failed)}", style="bold red"))
        for part in failed[:FAILURES_SHOWN]:
            lines.append(Text(f"  #{part.number}: {part.reason or 'failed'}", style="red"))
    return Group(*lines)


class TransferDetailScreen(Screen[None]):
    """The parts of one transfer, live."""

    BINDINGS = [
        Binding("escape,backspace", "back", "Back"),
        Binding("p", "toggle_pause", "Pause/resume"),
        Binding("x", "cancel", "Cancel"),
    ]

    def __init__(self, transfer_id: str) -> None:
        super().__init__()
        self.transfer_id = transfer_id

    @property
    def tui(self) -> TransferApp:
        return cast("TransferApp", self.app)

    def compose(self) -> ComposeResult:
        yield Header()
        with VerticalScroll():
            yield Static(id="about")
            yield PartGrid(id="grid")
            yield Static(id="flight")
        yield Footer()

    def on_mount(self) -> None:
        self.redraw({self.transfer_id}, {self.transfer_id})

    def redraw(self, dirty: set[str], parts_dirty: set[str]) -> None:
        view = self.tui.view(self.transfer_id)
        if view is None or self.transfer_id not in dirty | parts_dirty:
            return
        self.query_one("#about", Static).update(describe(view))
        grid = self.query_one(PartGrid)
        grid.parts = view.parts
        grid.refresh(layout=True)
        self.query_one("#flight", Static).update(in_flight(view))

    def action_back(self) -> None:
        self.dismiss()

    def action_toggle_pause(self) -> None:
        self.tui.toggle_pause(self.transfer_id)

    def action_cancel(self) -> None:
        self.tui.cancel(self.transfer_id)
