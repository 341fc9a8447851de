"""The main screen: every transfer with its progress, and the keys that control them."""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Header, Input

from score_tui.live_queue import TransferView
from score_tui.planning.requests import DownloadRequest, UploadRequest
from score_tui.widgets.queue_summary import QueueSummary
from score_tui.widgets.transfer_table import TransferTable

if TYPE_CHECKING:
    from score_tui.app import TransferApp


def matches(view: TransferView, text: str) -> bool:
    """Whether a transfer matches the filter: name, object id, direction or state."""
    t = view.transfer
    wanted = text.lower().strip()
    return not wanted or any(
        wanted in field.lower()
        for field in (t.file_name, t.object_id, t.direction.value, t.state.value, t.path)
    )


class QueueScreen(Screen[None]):
    """The queue: one row per transfer, overall progress above."""

    BINDINGS = [
        Binding("a", "add_download", "Download"),
        Binding("u", "add_upload", "Upload"),
        Binding("p", "toggle_pause", "Pause"),
        Binding("P", "pause_all", "All"),
        Binding("x", "cancel", "Cancel"),
        Binding("r", "retry", "Retry"),
        Binding("v", "slice", "Slice"),
        Binding("enter", "details", "Details", show=False),
        Binding("slash", "filter", "Filter"),
        Binding("escape", "clear_filter", "Clear filter", show=False),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.filter_text = ""

    @property
    def tui(self) -> TransferApp:
        return cast("TransferApp", self.app)

    def compose(self) -> ComposeResult:
        yield Header()
        yield QueueSummary(id="summary")
        yield Input(placeholder="filter: name, object id, state …", id="filter")
        yield TransferTable(id="queue")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#filter", Input).display = False
        self.refill()
        self.query_one(TransferTable).focus()

    def shown_views(self) -> list[TransferView]:
        return [v for v in self.tui.live.views.values() if matches(v, self.filter_text)]

    def refill(self) -> None:
        self.query_one(TransferTable).show(self.shown_views())
        self.query_one(QueueSummary).show(self.tui.live, self.tui.broker_status)

    def redraw(self, dirty: set[str], parts_dirty: set[str]) -> None:
        table = self.query_one(TransferTable)
        views = self.tui.live.views
        if any(i not in table.rows and matches(views[i], self.filter_text) for i in dirty):
            self.refill()  # a new transfer, or one that now matches the filter
            return
        for transfer_id in dirty:
            table.update_view(views[transfer_id])
        self.query_one(QueueSummary).show(self.tui.live, self.tui.broker_status)

    @property
    def selected(self) -> str | None:
        return self.query_one(TransferTable).selected_id

    # -- actions -----------------------------------------------------------------------------

    def action_add_download(self) -> None:
        from score_tui.screens.add_download import AddDownloadScreen

        self.app.push_screen(AddDownloadScreen(), self._added_download)

    def _added_download(self, request: DownloadRequest | None) -> None:
        if request is not None:
            self.tui.add_downloads(request)

    def action_add_upload(self) -> None:
        from score_tui.screens.add_upload import AddUploadScreen

        self.app.push_screen(AddUploadScreen(), self._added_upload)

    def _added_upload(self, request: UploadRequest | None) -> None:
        if request is not None:
            self.tui.add_uploads(request)

    def action_slice(self) -> None:
        from score_tui.screens.slice import SliceScreen

        view = self.tui.view(self.selected) if self.selected else None
        wanted = view is not None and view.transfer.file_name.lower().endswith((".bam", ".cram"))
        self.app.push_screen(SliceScreen(view.transfer.object_id if view and wanted else ""))

    def action_toggle_pause(self) -> None:
        if self.selected:
            self.tui.toggle_pause(self.selected)

    def action_pause_all(self) -> None:
        self.tui.toggle_pause_all()

    def action_cancel(self) -> None:
        if self.selected:
            self.tui.cancel(self.selected)

    def action_retry(self) -> None:
        self.tui.retry_failed()

    def action_details(self) -> None:
        if self.selected:
            self.tui.open_details(self.selected)

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        self.tui.open_details(str(event.row_key.value))

    def action_filter(self) -> None:
        field = self.query_one("#filter", Input)
        field.display = True
        field.focus()

    def action_clear_filter(self) -> None:
        field = self.query_one("#filter", Input)
        field.value = ""
        field.display = False
        self.query_one(TransferTable).focus()

    def on_input_changed(self, event: Input.Changed) -> None:
        if event.input.id == "filter":
            self.filter_text = event.value
            self.refill()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        if event.input.id == "filter":
            if not event.value:
                event.input.display = False
            self.query_one(TransferTable).focus()
