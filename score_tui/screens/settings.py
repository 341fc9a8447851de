"""Settings and login: the broker profile, the token, concurrency and the bandwidth cap."""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Checkbox, Input, Label, Static

from score_tui import config
from score_tui.config import ConfigError, mask, parse_rate

if TYPE_CHECKING:
    from score_tui.app import TransferApp


class SettingsScreen(ModalScreen[None]):
    """Saved to the config file (and the token to the keyring, or its documented fallback)."""

    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    @property
    def tui(self) -> TransferApp:
        return cast("TransferApp", self.app)

    def compose(self) -> ComposeResult:
        s = self.tui.settings
        demo = self.tui.demo
        limit = s.engine.bandwidth_limit
        profiles = ", ".join(config.profile_names()) or "none yet"
        with VerticalScroll(classes="form"):
            yield Static("Settings and login", classes="title")
            yield Label(f"Broker profile (in {s.config_file}; saved profiles: {profiles})")
            yield Input(s.profile, id="profile", disabled=demo)
            yield Label("Broker URL")
            yield Input(s.server_url, id="server-url", disabled=demo)
            yield Label("Song URL")
            yield Input(s.metadata_url, id="metadata-url", disabled=demo)
            yield Label(f"Access token (now: {mask(s.token)}, from {s.token_source})")
            with Horizontal(classes="row"):
                yield Input(placeholder="paste a new token", password=True, id="token",
                            disabled=demo)  # fmt: skip
                yield Button("Log out", id="logout", disabled=demo or s.token is None)
            with Horizontal(classes="row"):
                with Vertical():
                    yield Label("Parts in flight")
                    yield Input(str(s.engine.concurrency), id="concurrency", type="integer")
                with Vertical():
                    yield Label("Bandwidth cap (e.g. 50MB/s; empty: none)")
                    yield Input(f"{limit / 1e6:g}MB/s" if limit else "", id="bandwidth")
            yield Static(
                "Part size: planned by the broker, as Score does ([storage] part_size).",
                classes="hint",
            )
            yield Checkbox("Resume interrupted transfers at start", s.resume_on_start,
                           id="resume")  # fmt: skip
            if demo:
                yield Static("The demo broker's URL and token are fixed.", classes="hint")
            yield Static("", id="error", classes="error")
            with Horizontal(classes="buttons"):
                yield Button("Save", variant="primary", id="ok")
                yield Button("Cancel", id="cancel")

    def value(self, field: str) -> str:
        return self.query_one(f"#{field}", Input).value.strip()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "ok":
            self.save()
        elif event.button.id == "logout":
            config.forget_token(self.tui.settings.profile)
            self.notify("Token forgotten; restarting without it.")
            self.dismiss(None)
            self.tui.restart()
        else:
            self.dismiss(None)

    def on_input_submitted(self) -> None:
        self.save()

    def save(self) -> None:
        s = self.tui.settings
        error = self.query_one("#error", Static)
        try:
            rate = parse_rate(self.value("bandwidth"))
            concurrency = int(self.value("concurrency") or s.engine.concurrency)
        except (ConfigError, ValueError) as exc:
            error.update(str(exc))
            return
        if concurrency < 1:
            error.update("Parts in flight must be at least 1.")
            return
        profile = self.value("profile") or s.profile
        server_url = self.value("server-url").rstrip("/")
        if not server_url.startswith(("http://", "https://")):
            error.update("The broker URL must start with http:// or https://.")
            return
        resume = self.query_one("#resume", Checkbox).value
        demo = self.tui.demo
        path = config.save(
            profile=s.profile if demo else profile,
            server_url=None if demo else server_url,
            metadata_url=None if demo else self.value("metadata-url"),
            transfer={"concurrency": concurrency, "bandwidth_limit": self.value("bandwidth")},
            tui={"resume_on_start": resume},
        )
        self.tui.engine.set_bandwidth_limit(rate)
        token = self.value("token")
        if token:
            where = config.save_token(profile, token)
            self.notify(f"Token saved in {where}.", title="Login", timeout=8)
        self.notify(f"Saved to {path}.", timeout=4)
        self.dismiss(None)
        reconnect = (profile, server_url) != (s.profile, s.server_url) or bool(token)
        if not demo and (reconnect or concurrency != s.engine.concurrency):
            self.tui.restart()

    def action_cancel(self) -> None:
        self.dismiss(None)
