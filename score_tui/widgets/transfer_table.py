"""One row per transfer: name, direction, size, progress bar, speed, ETA, state and MD5."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import DataTable

from score_tui.engine.model import State
from score_tui.live_queue import TransferView, md5_label
from score_tui.units import human_duration, human_rate, human_size

COLUMNS = ("name", "dir", "size", "progress", "speed", "eta", "state", "md5")
LABELS = ("Name", "", "Size", "Progress", "Speed", "ETA", "State", "MD5")
BAR_WIDTH = 22
STATE_STYLES = {
    State.QUEUED: "dim",
    State.RUNNING: "bold cyan",
    State.PAUSED: "yellow",
    State.FAILED: "bold red",
    State.DONE: "green",
    State.CANCELLED: "dim strike",
}
MD5_STYLES = {"ok": "green", "mismatch": "bold red", "checking": "cyan", "skipped": "yellow"}


def progress_cell(view: TransferView) -> Text:
    """A bar and the percentage beside it, as plain styled text (cheap to draw by the hundred)."""
    filled = round(view.fraction * BAR_WIDTH)
    style = "green" if view.transfer.state == State.DONE else "cyan"
    bar = Text("━" * filled, style=style)
    bar.append("━" * (BAR_WIDTH - filled), style="grey30")
    bar.append(f" {100 * view.fraction:5.1f}%")
    return bar


def row_cells(view: TransferView) -> tuple[object, ...]:
    t = view.transfer
    running = t.state == State.RUNNING
    md5 = md5_label(t)
    return (
        Text(t.file_name, overflow="ellipsis", no_wrap=True),
        Text("↑" if t.direction == "upload" else "↓", style="bold"),
        Text(human_size(t.size) if t.size else "-", justify="right"),
        progress_cell(view),
        Text(human_rate(view.speed()) if running else "-", justify="right"),
        Text(human_duration(view.eta()) if running else "-", justify="right"),
        Text(t.state.value, style=STATE_STYLES[t.state]),
        Text(md5, style=MD5_STYLES.get(md5, "dim")),
    )


class TransferTable(DataTable[object]):
    """The queue's table; rows are keyed by transfer id."""

    def on_mount(self) -> None:
        self.cursor_type = "row"
        self.zebra_stripes = True
        widths = (None, 1, 9, BAR_WIDTH + 7, 10, 7, 9, 8)
        for key, label, width in zip(COLUMNS, LABELS, widths, strict=True):
            self.add_column(label, key=key, width=width)

    def show(self, views: list[TransferView]) -> None:
        """Replace the rows with `views`, keeping the cursor on the same transfer if shown."""
        selected = self.selected_id
        self.clear()
        for view in views:
            self.add_row(*row_cells(view), key=view.id)
        if selected is not None and selected in self.rows:
            self.move_cursor(row=self.get_row_index(selected))

    def update_view(self, view: TransferView) -> None:
        """Redraw the cells of a row that changed (most updates change one or two)."""
        if view.id not in self.rows:
            return
        for key, value in zip(COLUMNS, row_cells(view), strict=True):
            if self.get_cell(view.id, key) != value:
                self.update_cell(view.id, key, value)

    @property
    def selected_id(self) -> str | None:
        if not self.row_count:
            return None
        row_key, _ = self.coordinate_to_cell_key(self.cursor_coordinate)
        return str(row_key.value)
