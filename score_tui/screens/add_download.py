"""Add a download: object ids, a manifest, or an analysis with its study; where and how."""

from __future__ import annotations

import re
from pathlib import Path

from textual.app import ComposeResult
from textual.containers import Horizontal, VerticalScroll
from textual.widgets import Button, Checkbox, Input, Label, Select, Static

from score_tui.planning.requests import DownloadRequest, RequestError
from score_tui.screens.form import FormScreen
from score_tui.screens.pickers import PathPicker

LAYOUTS = [
    ("by file name", "filename"),
    ("by analysis (bundle)", "bundle"),
    ("by object id", "id"),
]


class AddDownloadScreen(FormScreen[DownloadRequest | None]):
    """A form that becomes the arguments of `download`."""

    def compose(self) -> ComposeResult:
        defaults = self.tui.defaults
        with VerticalScroll(classes="form"):
            yield Static("Add download", classes="title")
            yield Label("Object ids (space or comma separated)")
            yield Input(placeholder="e.g. 5b7e…-…", id="object-ids")
            yield Label("or a manifest file (11 columns, as Song writes it)")
            with Horizontal(classes="row"):
                yield Input(placeholder="path/to/manifest.tsv", id="manifest")
                yield Button("Browse…", id="browse-manifest")
            yield Label("or an analysis and its study")
            with Horizontal(classes="row"):
                yield Input(defaults.get("analysis", ""), placeholder="analysis id", id="analysis")
                yield Input(defaults.get("study", ""), placeholder="study", id="study")
            yield Label("Destination directory")
            with Horizontal(classes="row"):
                yield Input(defaults.get("downloads", str(Path.cwd())), id="output-dir")
                yield Button("Browse…", id="browse-dir")
            with Horizontal(classes="row"):
                yield Select(LAYOUTS, value="filename", allow_blank=False, id="layout")
                yield Checkbox("Fetch index (.bai, .crai …)", True, id="index")
                yield Checkbox("Overwrite existing", False, id="force")
            yield from self.closing("Download")

    def on_mount(self) -> None:
        self.query_one("#object-ids", Input).focus()

    def pressed(self, button: str) -> None:
        if button == "browse-dir":
            self.app.push_screen(
                PathPicker(self.value("output-dir"), directories=True),
                lambda chosen: self.fill("output-dir", chosen),
            )
        elif button == "browse-manifest":
            self.app.push_screen(
                PathPicker(str(Path.cwd())), lambda chosen: self.fill("manifest", chosen)
            )

    def submit(self) -> None:
        try:
            request = DownloadRequest(
                object_ids=tuple(i for i in re.split(r"[\s,]+", self.value("object-ids")) if i),
                manifest=self.file_field("manifest"),
                analysis_id=self.value("analysis") or None,
                study_id=self.value("study") or None,
                output_dir=Path(self.value("output-dir") or ".").expanduser(),
                output_layout=self.query_one("#layout", Select).value,  # type: ignore[arg-type]
                index=self.query_one("#index", Checkbox).value,
                force=self.query_one("#force", Checkbox).value,
                verify_connection=False,  # the app checked it when it connected
            )
        except RequestError as exc:
            self.fail(f"{exc}.")
            return
        self.dismiss(request)
