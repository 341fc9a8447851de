"""Settings and login: the broker profile, the token, concurrency and the bandwidth cap."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import Button, Checkbox, Input, Label, Static

from score_tui import config
from score_tui.config import ConfigError, mask, parse_rate
from score_tui.screens.form import FormScreen


class SettingsScreen(FormScreen[None]):
    """Saved to the config file (and the token to the keyring, or its documented fallback)."""

    def compose(self) -> ComposeResult:
        s = self.tui.settings
        demo = self.tui.demo
        limit = s.engine.bandwidth_limit
        self.initial_bandwidth = f"{limit / 1e6:g}MB/s" if limit else ""
        # A Song URL derived from the broker's stays empty, so it follows a new broker URL.
        derived = s.metadata_url == f"{s.server_url}/song"
        self.initial_metadata_url = "" if derived else s.metadata_url
        profiles = ", ".join(config.profile_names()) or "none yet"
        with VerticalScroll(classes="form"):
            yield Static("Settings and login", classes="title")
            yield Label(f"Broker profile (in {s.config_file}; saved profiles: {profiles})")
            yield Input(s.profile, id="profile", disabled=demo)
            yield Label("Broker URL")
            yield Input(s.server_url, id="server-url", disabled=demo)
            yield Label("Song URL (empty: the broker's embedded Song, <broker URL>/song)")
            yield Input(self.initial_metadata_url, id="metadata-url", disabled=demo)
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
                    yield Input(self.initial_bandwidth, id="bandwidth")
            yield Static(
                "Part size: planned by the broker, as Score does ([storage] part_size).",
                classes="hint",
            )
            yield Checkbox("Resume interrupted transfers at start", s.resume_on_start,
                           id="resume")  # fmt: skip
            if demo:
                yield Static("The demo broker's URL and token are fixed.", classes="hint")
            yield from self.closing("Save")

    def pressed(self, button: str) -> None:
        if button == "logout":
            config.forget_token(self.tui.settings.profile)
            self.notify("Token forgotten; restarting without it.")
            self.dismiss(None)
            self.tui.restart()

    def submit(self) -> None:
        self.save()

    def save(self) -> None:
        """Write what was changed (only that), apply the bandwidth cap, restart if needed."""
        s = self.tui.settings
        try:
            rate = parse_rate(self.value("bandwidth"))
            concurrency = int(self.value("concurrency") or s.engine.concurrency)
        except (ConfigError, ValueError) as exc:
            self.fail(str(exc))
            return
        if concurrency < 1:
            self.fail("Parts in flight must be at least 1.")
            return
        profile = self.value("profile") or s.profile
        server_url = self.value("server-url").rstrip("/")
        metadata_url = self.value("metadata-url").rstrip("/")
        if not server_url.startswith(("http://", "https://")):
            self.fail("The broker URL must start with http:// or https://.")
            return
        if metadata_url and not metadata_url.startswith(("http://", "https://")):
            self.fail("The Song URL must start with http:// or https://, or stay empty.")
            return
        changed = {
            key: value
            for key, value, before in (
                ("profile", profile, s.profile),
                ("server_url", server_url, s.server_url),
                ("metadata_url", metadata_url, self.initial_metadata_url),
                ("concurrency", concurrency, s.engine.concurrency),
                ("bandwidth_limit", self.value("bandwidth"), self.initial_bandwidth),
                ("resume_on_start", self.query_one("#resume", Checkbox).value, s.resume_on_start),
            )
            if value != before
        }
        token = self.value("token")
        demo = self.tui.demo
        broker_changed = not demo and bool({"profile", "server_url", "metadata_url"} & set(changed))
        # Only changed fields are written: switching to another profile with the URLs untouched
        # keeps that profile's own URLs, and the demo's defaults never reach the file.
        try:
            if changed:
                path = config.save(
                    profile=profile if broker_changed else None,
                    server_url=server_url if "server_url" in changed else None,
                    metadata_url=metadata_url if "metadata_url" in changed else None,
                    transfer={
                        k: changed[k] for k in ("concurrency", "bandwidth_limit") if k in changed
                    },
                    tui={k: changed[k] for k in ("resume_on_start",) if k in changed},
                )
                self.notify(f"Saved to {path}.", timeout=4)
            if token and not demo:
                where = config.save_token(profile, token)
                self.notify(f"Token saved in {where}.", title="Login", timeout=8)
        except (ConfigError, OSError) as exc:
            self.fail(str(exc))
            return
        self.tui.engine.set_bandwidth_limit(rate)
        self.dismiss(None)
        if not demo and (broker_changed or token or "concurrency" in changed):
            self.tui.restart()
