"""Choosing files and directories from a tree (Enter or a click picks)."""

from __future__ import annotations

import shlex
from pathlib import Path

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, DirectoryTree, Static


class PathPicker(ModalScreen[str | None]):
    """A file (or several, or a directory) under `start`; returns shell-quoted paths."""

    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, start: str, *, directories: bool = False, multiple: bool = False) -> None:
        super().__init__()
        path = Path(start or ".").expanduser()
        self.start = path if path.is_dir() else path.parent if path.parent.is_dir() else Path.cwd()
        self.directories = directories
        self.multiple = multiple
        self.chosen: list[str] = []
        self.current = str(self.start)

    def compose(self) -> ComposeResult:
        what = "a directory" if self.directories else "files" if self.multiple else "a file"
        with Vertical(classes="form picker"):
            yield Static(f"Choose {what}", classes="title")
            yield DirectoryTree(self.start, id="tree")
            yield Static(self.current if self.directories else "", id="chosen")
            with Horizontal(classes="buttons"):
                if self.directories or self.multiple:
                    yield Button("Choose", variant="primary", id="ok")
                yield Button("Cancel", id="cancel")

    def on_directory_tree_directory_selected(self, event: DirectoryTree.DirectorySelected) -> None:
        if self.directories:
            self.current = str(event.path)
            self.query_one("#chosen", Static).update(self.current)

    def on_directory_tree_file_selected(self, event: DirectoryTree.FileSelected) -> None:
        if self.directories:
            return
        if not self.multiple:
            self.dismiss(str(event.path))
            return
        path = str(event.path)
        if path in self.chosen:
            self.chosen.remove(path)
        else:
            self.chosen.append(path)
        self.query_one("#chosen", Static).update(
            "\n".join(self.chosen) or "(none: Enter on a file picks it)"
        )

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "ok":
            self.dismiss(self.current if self.directories else shlex.join(self.chosen) or None)
        else:
            self.dismiss(None)

    def action_cancel(self) -> None:
        self.dismiss(None)
