"""Add an upload: files registered with Song (study, access), one file by object id, or a
manifest."""

from __future__ import annotations

import shlex
from pathlib import Path

from textual.app import ComposeResult
from textual.containers import Horizontal, VerticalScroll
from textual.widgets import Button, Checkbox, Input, Label, Select, Static

from score_tui.planning.requests import RequestError, UploadRequest
from score_tui.screens.form import FormScreen
from score_tui.screens.pickers import PathPicker

ACCESS = [("controlled", "controlled"), ("open", "open")]


class AddUploadScreen(FormScreen[UploadRequest | None]):
    """A form that becomes the arguments of `upload`."""

    def compose(self) -> ComposeResult:
        defaults = self.tui.defaults
        with VerticalScroll(classes="form"):
            yield Static("Add upload", classes="title")
            yield Label("Files (one or many; quote names with spaces)")
            with Horizontal(classes="row"):
                yield Input(placeholder="reads.bam reads.bam.bai", id="files")
                yield Button("Browse…", id="browse-files")
            yield Label("Register them with Song in a study (a new analysis) …")
            with Horizontal(classes="row"):
                yield Input(defaults.get("study", ""), placeholder="study", id="study")
                yield Select(ACCESS, value="controlled", allow_blank=False, id="access")
                yield Checkbox("Publish when done", True, id="publish")
            yield Label("… or give the object id Song assigned (one file)")
            yield Input(placeholder="object id", id="object-id")
            yield Label("or upload a manifest (3 columns, as Song writes it)")
            with Horizontal(classes="row"):
                yield Input(placeholder="path/to/manifest.txt", id="manifest")
                yield Button("Browse…", id="browse-manifest")
            yield Checkbox("Upload even if the object exists", False, id="force")
            yield from self.closing("Upload")

    def on_mount(self) -> None:
        self.query_one("#files", Input).focus()

    def pressed(self, button: str) -> None:
        if button == "browse-files":
            self.app.push_screen(
                PathPicker(self.tui.defaults.get("files", str(Path.cwd())), multiple=True),
                lambda chosen: self.fill("files", chosen),
            )
        elif button == "browse-manifest":
            self.app.push_screen(
                PathPicker(str(Path.cwd())), lambda chosen: self.fill("manifest", chosen)
            )

    def submit(self) -> None:
        try:
            files = [Path(f).expanduser() for f in shlex.split(self.value("files"))]
        except ValueError as exc:
            self.fail(f"The file list cannot be read: {exc}.")
            return
        missing = [f for f in files if not f.is_file()]
        if missing:
            self.fail(f"{missing[0]} is not a file.")
            return
        try:
            request = UploadRequest(
                files=tuple(files),
                object_id=self.value("object-id") or None,
                manifest=self.file_field("manifest"),
                study=self.value("study") or None,
                access=self.query_one("#access", Select).value,  # type: ignore[arg-type]
                publish=self.query_one("#publish", Checkbox).value,
                force=self.query_one("#force", Checkbox).value,
                verify_connection=False,  # the app checked it when it connected
            )
        except RequestError as exc:
            self.fail(f"{exc}.")
            return
        self.dismiss(request)
