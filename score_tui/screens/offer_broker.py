"""With no broker configured: offer the embedded one (the demo's), settings, or going on."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Static


class OfferBrokerScreen(ModalScreen[str | None]):
    """Returns "embedded", "settings", or None (try the default broker URL)."""

    BINDINGS = [Binding("escape", "dismiss_none", "Close")]

    def compose(self) -> ComposeResult:
        with Vertical(classes="form"):
            yield Static("No broker is configured", classes="title")
            yield Static(
                "score-tui can start an embedded broker on this machine (local storage, an "
                "embedded Song, its own key) with a demo study to try downloads, uploads and "
                "slicing. Or name your consortium's broker in Settings."
            )
            with Horizontal(classes="buttons"):
                yield Button("Start the embedded broker", variant="primary", id="embedded")
                yield Button("Settings", id="settings")
                yield Button("Not now", id="none")

    def on_mount(self) -> None:
        self.query_one("#embedded", Button).focus()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id if event.button.id != "none" else None)

    def action_dismiss_none(self) -> None:
        self.dismiss(None)
