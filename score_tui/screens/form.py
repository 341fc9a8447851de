"""What the add and settings forms share: fields by id, an error line, OK and Cancel."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Generic, TypeVar, cast

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Static

from score_tui.planning.requests import RequestError

if TYPE_CHECKING:
    from score_tui.app import TransferApp

Result = TypeVar("Result")


class FormScreen(ModalScreen[Result], Generic[Result]):
    """A modal form: Enter in a field or the OK button submits, Escape or Cancel leaves."""

    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    @property
    def tui(self) -> TransferApp:
        return cast("TransferApp", self.app)

    @staticmethod
    def closing(ok: str) -> ComposeResult:
        """The error line and the buttons, at the end of the form."""
        yield Static("", id="error", classes="error")
        with Horizontal(classes="buttons"):
            yield Button(ok, variant="primary", id="ok")
            yield Button("Cancel", id="cancel")

    def value(self, field: str) -> str:
        return self.query_one(f"#{field}", Input).value.strip()

    def file_field(self, field: str) -> str | None:
        """The field's path with `~` expanded, None when empty; RequestError when it names no
        file (the forms show a request's refusals)."""
        text = self.value(field)
        if not text:
            return None
        path = Path(text).expanduser()
        if not path.is_file():
            raise RequestError(f"{text} is not a file")
        return str(path)

    def fill(self, field: str, chosen: str | None) -> None:
        if chosen:
            self.query_one(f"#{field}", Input).value = chosen

    def fail(self, message: str) -> None:
        self.query_one("#error", Static).update(message)

    def submit(self) -> None:
        raise NotImplementedError

    def pressed(self, button: str) -> None:
        """A button other than OK and Cancel."""

    def on_input_submitted(self) -> None:
        self.submit()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "ok":
            self.submit()
        elif event.button.id == "cancel":
            self.dismiss(None)
        elif event.button.id:
            self.pressed(event.button.id)

    def action_cancel(self) -> None:
        self.dismiss(None)
