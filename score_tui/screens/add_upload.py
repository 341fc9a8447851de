"""Add an upload: files registered with Song (study, access), one file by object id, or a
manifest."""

from __future__ import annotations

import argparse
import shlex
from pathlib import Path
from typing import TYPE_CHECKING, cast

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Checkbox, Input, Label, Select, Static

from score_tui.batch.manifests import is_uuid
from score_tui.screens.pickers import PathPicker

if TYPE_CHECKING:
    from score_tui.app import TransferApp

ACCESS = [("controlled", "controlled"), ("open", "open")]


class AddUploadScreen(ModalScreen[argparse.Namespace | None]):
    """A form that becomes the arguments of `upload`."""

    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    @property
    def tui(self) -> TransferApp:
        return cast("TransferApp", self.app)

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
            yield Static("", id="error", classes="error")
            with Horizontal(classes="buttons"):
                yield Button("Upload", variant="primary", id="ok")
                yield Button("Cancel", id="cancel")

    def on_mount(self) -> None:
        self.query_one("#files", Input).focus()

    def value(self, field: str) -> str:
        return self.query_one(f"#{field}", Input).value.strip()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "ok":
            self.submit()
        elif event.button.id == "cancel":
            self.dismiss(None)
        elif event.button.id == "browse-files":
            self.app.push_screen(
                PathPicker(self.tui.defaults.get("files", str(Path.cwd())), multiple=True),
                lambda chosen: self._set("files", chosen),
            )
        elif event.button.id == "browse-manifest":
            self.app.push_screen(
                PathPicker(str(Path.cwd())), lambda chosen: self._set("manifest", chosen)
            )

    def _set(self, field: str, chosen: str | None) -> None:
        if chosen:
            self.query_one(f"#{field}", Input).value = chosen

    def on_input_submitted(self) -> None:
        self.submit()

    def submit(self) -> None:
        error = self.query_one("#error", Static)
        try:
            files = [str(Path(f).expanduser()) for f in shlex.split(self.value("files"))]
        except ValueError as exc:
            error.update(f"The file list cannot be read: {exc}.")
            return
        study, object_id, manifest = (
            self.value("study"),
            self.value("object-id"),
            self.value("manifest"),
        )
        missing = [f for f in files if not Path(f).is_file()]
        if missing:
            error.update(f"{missing[0]} is not a file.")
            return
        force = self.query_one("#force", Checkbox).value
        if manifest:
            if files or object_id:
                error.update("A manifest names its own files: leave files and object id empty.")
                return
            if not Path(manifest).expanduser().is_file():
                error.update(f"{manifest} is not a file.")
                return
            self.dismiss(
                self.tui.batch_args(
                    "upload",
                    manifest=str(Path(manifest).expanduser()),
                    force=force,
                    verify_connection=False,
                )
            )
            return
        if not files:
            error.update("Choose at least one file (Browse… or type its path).")
            return
        if object_id:
            if not is_uuid(object_id):
                error.update(f"{object_id} is not an object id (a UUID).")
                return
            if len(files) != 1:
                error.update("An object id names one file; register several with a study.")
                return
            self.dismiss(
                self.tui.batch_args(
                    "upload",
                    object_id=object_id,
                    file=files,
                    force=force,
                    verify_connection=False,
                )
            )
            return
        if not study:
            error.update("Give a study to register the files in, or an object id.")
            return
        self.dismiss(
            self.tui.batch_args(
                "upload",
                study=study,
                file=files,
                force=force,
                access=self.query_one("#access", Select).value,
                publish=self.query_one("#publish", Checkbox).value,
                verify_connection=False,
            )
        )

    def action_cancel(self) -> None:
        self.dismiss(None)
