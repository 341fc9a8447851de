"""Slice: the reads of a BAM/CRAM object in some regions, fetched by ranged reads only, shown
in a table and saved as SAM, BAM or CRAM."""

from __future__ import annotations

import asyncio
import shlex
import shutil
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import httpx
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import Button, DataTable, Footer, Header, Input, Select, Static

from score_tui.client.errors import UrlRefused
from score_tui.client.naming import object_id_from
from score_tui.slicing.regions import Region, parse_queries
from score_tui.slicing.remote import http_client
from score_tui.slicing.slicer import SliceOutput, opened, output_header, records
from score_tui.slicing.sources import SliceSource, remote_source
from score_tui.units import human_size

if TYPE_CHECKING:
    from score_tui.app import TransferApp

#: Reads shown in the table (all of them are saved).
SHOWN = 2000
FORMATS = [("SAM", "sam"), ("BAM", "bam"), ("CRAM", "cram")]
COLUMNS = ("Name", "Flag", "Contig", "Position", "MAPQ", "CIGAR", "Sequence")


class SliceScreen(Screen[None]):
    """Regions of one object: the reads, and a file to save them in."""

    BINDINGS = [Binding("escape", "back", "Back")]

    def __init__(self, object_id: str = "") -> None:
        super().__init__()
        self.object_id = object_id
        self.source: SliceSource | None = None
        self.regions: list[Region] = []
        self._directory = Path(tempfile.mkdtemp(prefix="score-tui-slice-"))
        #: Made at the first slice, trusting what the app's settings trust.
        self._http: httpx.AsyncClient | None = None

    @property
    def tui(self) -> TransferApp:
        return cast("TransferApp", self.app)

    def compose(self) -> ComposeResult:
        yield Header()
        with Vertical(id="slice-form"):
            with Horizontal(classes="row"):
                yield Input(self.object_id, placeholder="object id of a BAM or CRAM", id="object")
                yield Input(placeholder="regions, e.g. chr20:1,000,000-1,010,000", id="regions")
                yield Button("Slice", variant="primary", id="run")
            yield Input(placeholder="reference FASTA (CRAM only)", id="reference")
            yield Static("", id="slice-status")
        yield DataTable(id="reads", zebra_stripes=True, cursor_type="row")
        with Horizontal(id="save-row"):
            yield Input(placeholder="save as … (path)", id="save-path")
            yield Select(FORMATS, value="sam", allow_blank=False, id="save-format")
            yield Button("Save", id="save")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one(DataTable).add_columns(*COLUMNS)
        self.query_one("#regions" if self.object_id else "#object", Input).focus()

    async def on_unmount(self) -> None:
        if self._http is not None:
            await self._http.aclose()
        shutil.rmtree(self._directory, ignore_errors=True)

    def status(self, text: str, error: bool = False) -> None:
        widget = self.query_one("#slice-status", Static)
        widget.set_class(error, "error")
        widget.update(text)

    def value(self, field: str) -> str:
        return self.query_one(f"#{field}", Input).value.strip()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        if event.input.id == "save-path":
            self.save()
        else:
            self.run_slice()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "run":
            self.run_slice()
        elif event.button.id == "save":
            self.save()

    def run_slice(self) -> None:
        object_id, queries = object_id_from(self.value("object")), self.value("regions")
        if object_id is None:
            self.status(
                "Give the object id (a UUID or drs://<host>/<uuid>) of a BAM or CRAM.", error=True
            )
            return
        if not queries:
            self.status("Give one or more regions, e.g. chr20:1,000,000-1,010,000.", error=True)
            return
        try:
            regions = shlex.split(queries.replace(";", " "))
        except ValueError as exc:
            self.status(f"The regions cannot be read: {exc}.", error=True)
            return
        self.status(f"Slicing {object_id} …")
        self.slice_worker(object_id, regions)

    @work(exclusive=True, group="slice", exit_on_error=False)
    async def slice_worker(self, object_id: str, queries: list[str]) -> None:
        try:
            typed = self.value("reference")
            reference = Path(typed).expanduser() if typed else None
            source = self.source
            if self._http is None:
                self._http = http_client(self.tui.settings.ca_file)
            if source is None or source.object_id != object_id:
                place = Path(tempfile.mkdtemp(dir=self._directory))
                source = await remote_source(
                    self.tui.workspace, self._http, object_id, place, reference
                )
            source.reference = reference
            regions = parse_queries(queries, source.contigs)
            await source.prepare(regions)
            rows, total = await asyncio.to_thread(self._read, source, regions)
        except Exception as exc:  # one line in the status, never a crash
            if isinstance(exc, UrlRefused):
                self.source = None  # its URL has expired: the next slice starts afresh
            self.status(str(exc) or repr(exc), error=True)
            return
        self.source, self.regions = source, regions
        table = self.query_one(DataTable)
        table.clear()
        table.add_rows(rows)
        shown = f" (the first {SHOWN} shown)" if total > SHOWN else ""
        self.status(
            f"{source.name}: {total} reads in {', '.join(map(str, regions))}{shown}. Fetched "
            f"{human_size(source.fetched)} of {human_size(source.size)} "
            f"({source.requests} ranged reads, index included)."
        )

    @staticmethod
    def _read(source: SliceSource, regions: list[Region]) -> tuple[list[tuple[Any, ...]], int]:
        rows: list[tuple[Any, ...]] = []
        total = 0
        with opened(source.data, source.kind, source.index, source.reference) as handle:
            for read in records(handle, regions, contained=False):
                total += 1
                if len(rows) < SHOWN:
                    rows.append(
                        (
                            read.query_name, read.flag, read.reference_name or "*",
                            read.reference_start + 1, read.mapping_quality,
                            read.cigarstring or "*", (read.query_sequence or "*")[:60],
                        )
                    )  # fmt: skip
        return rows, total

    def save(self) -> None:
        if self.source is None:
            self.status("Slice first, then save.", error=True)
            return
        if not self.value("save-path"):
            self.status("Give a path to save the slice to.", error=True)
            return
        self.save_worker(Path(self.value("save-path")).expanduser())

    @work(exclusive=True, group="slice", exit_on_error=False, thread=True)
    def save_worker(self, path: Path) -> None:
        source = self.source
        assert source is not None
        fmt = str(self.query_one("#save-format", Select).value)
        output = SliceOutput(path, fmt, reference=source.reference)
        try:
            with opened(source.data, source.kind, source.index, source.reference) as handle:
                header = output_header(handle, False, f"score-tui slice {source.object_id}")
                count = output.write(handle, header, records(handle, self.regions, False))
        except Exception as exc:
            self.app.call_from_thread(self.status, str(exc) or repr(exc), True)
            return
        self.app.call_from_thread(self.status, f"Saved {count} reads to {path}.")
        self.app.call_from_thread(self.notify, f"Saved {count} reads to {path}.", title="Slice")

    def action_back(self) -> None:
        self.dismiss()
