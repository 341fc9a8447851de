"""Configuration precedence (flag > environment > file) and where the token comes from."""

from __future__ import annotations

import stat
from collections.abc import Iterator
from pathlib import Path

import keyring
import pytest
from keyring.backend import KeyringBackend
from keyring.backends.fail import Keyring as NoKeyring

from score_tui.config import ConfigError, Overrides, load, mask, parse_rate, save_token


class MemoryKeyring(KeyringBackend):
    priority = 1  # type: ignore[assignment]

    def __init__(self) -> None:
        self.store: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, username: str) -> str | None:
        return self.store.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.store[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        self.store.pop((service, username), None)


@pytest.fixture(autouse=True)
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    for name in (
        "STORAGE_URL",
        "METADATA_URL",
        "ACCESSTOKEN",
        "TRANSPORT_PARALLEL",
        "SCORE_TUI_PROFILE",
        "SCORE_TUI_CONFIG",
        "SCORE_TUI_CONFIG_DIR",
    ):
        monkeypatch.delenv(name, raising=False)
    previous = keyring.get_keyring()
    keyring.set_keyring(NoKeyring())  # a headless machine: every keyring call raises
    yield
    keyring.set_keyring(previous)


def write_config(tmp_path: Path, text: str) -> None:
    path = tmp_path / "config" / "score-tui" / "config.toml"
    path.parent.mkdir(parents=True)
    path.write_text(text)


def test_flag_beats_environment_beats_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write_config(
        tmp_path,
        """
profile = "consortium"
[profiles.consortium]
server_url = "https://score.example.org"
metadata_url = "https://song.example.org"
[transfer]
concurrency = 3
bandwidth_limit = "20MB/s"
""",
    )
    settings = load()
    assert (settings.profile, settings.server_url) == ("consortium", "https://score.example.org")
    assert settings.metadata_url == "https://song.example.org"
    assert settings.engine.concurrency == 3
    assert settings.engine.bandwidth_limit == 20e6
    assert settings.journal_path == tmp_path / "state" / "score-tui" / "journal.sqlite"

    monkeypatch.setenv("STORAGE_URL", "http://env:8087")
    monkeypatch.setenv("TRANSPORT_PARALLEL", "5")
    assert load().server_url == "http://env:8087"
    assert load().engine.concurrency == 5
    flagged = load(Overrides(server_url="http://flag:1", concurrency=9))
    assert flagged.server_url == "http://flag:1"
    assert flagged.engine.concurrency == 9


def test_defaults_and_unknown_profiles(tmp_path: Path) -> None:
    settings = load()
    assert settings.server_url == "http://127.0.0.1:8087"
    assert settings.metadata_url == "http://127.0.0.1:8087/song"
    assert load(Overrides(profile="collab")).profile == "collab"  # score-client's own names
    with pytest.raises(ConfigError, match="no profile 'nope'"):
        load(Overrides(profile="nope"))


def test_token_order_file_then_environment_then_keyring(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    backend = MemoryKeyring()
    keyring.set_keyring(backend)
    assert save_token("default", "from-keyring") == "the OS keyring"
    assert load().token == "from-keyring"
    monkeypatch.setenv("ACCESSTOKEN", "from-env")
    assert load().token == "from-env"
    token_file = tmp_path / "token"
    token_file.write_text("from-file\n")
    settings = load(Overrides(token_file=str(token_file)))
    assert (settings.token, settings.token_source) == ("from-file", f"file {token_file}")


def test_without_a_keyring_the_token_goes_to_a_private_file(tmp_path: Path) -> None:
    where = save_token("default", "secret-token-1234")
    fallback = tmp_path / "config" / "score-tui" / "tokens" / "default"
    assert str(fallback) in where
    assert "no OS keyring" in where
    assert stat.S_IMODE(fallback.stat().st_mode) == 0o600
    assert load().token == "secret-token-1234"
    assert mask("secret-token-1234") == "****1234 (17 characters)"


@pytest.mark.parametrize(
    ("text", "rate"),
    [("50MB/s", 50e6), ("800K", 800e3), ("1MiB/s", 1048576.0), ("0", None), ("", None)],
)
def test_rates(text: str, rate: float | None) -> None:
    assert parse_rate(text) == rate


def test_bad_rates_are_refused() -> None:
    with pytest.raises(ConfigError, match="not a rate"):
        parse_rate("fast")
