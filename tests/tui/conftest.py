"""Fixtures of the terminal UI's tests: an isolated user (config, state, data, no keyring)."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import keyring
import pytest
from keyring.backends.null import Keyring as NullKeyring
from textual.pilot import Pilot

from tests.support.sample_queue import write_sample_journal

#: Snapshots show paths: the sample user lives at the same place on every run.
SAMPLE_HOME = Path("/tmp/score-tui-sample")


def isolate(monkeypatch: pytest.MonkeyPatch, home: Path) -> None:
    for name in ("CONFIG", "STATE", "DATA", "CACHE"):
        monkeypatch.setenv(f"XDG_{name}_HOME", str(home / name.lower()))
    for name in ("STORAGE_URL", "METADATA_URL", "ACCESSTOKEN", "SCORE_TUI_PROFILE",
                 "SCORE_TUI_CONFIG", "SCORE_TUI_CONFIG_DIR", "TRANSPORT_PARALLEL",
                 "SCORE_TUI_BANDWIDTH_LIMIT"):  # fmt: skip
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(autouse=True)
def no_keyring() -> Iterator[None]:
    """No OS keyring, as on a headless machine: tokens go to the documented fallback file."""
    previous = keyring.get_keyring()
    keyring.set_keyring(NullKeyring())
    yield
    keyring.set_keyring(previous)


@pytest.fixture
def user_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A user with nothing configured yet."""
    home = tmp_path / "user"
    home.mkdir()
    isolate(monkeypatch, home)
    return home


@pytest.fixture
def sample_home(monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """The fixed sample user, with the sample queue in the journal."""
    shutil.rmtree(SAMPLE_HOME, ignore_errors=True)
    SAMPLE_HOME.mkdir(parents=True)
    isolate(monkeypatch, SAMPLE_HOME)
    write_sample_journal(SAMPLE_HOME / "state" / "score-tui" / "journal.sqlite", SAMPLE_HOME)
    yield SAMPLE_HOME
    shutil.rmtree(SAMPLE_HOME, ignore_errors=True)


async def until(pilot: Pilot[object], condition: Callable[[], bool], timeout: float = 60) -> None:
    """Let the app run until `condition` holds (fails the test after `timeout` seconds)."""
    waited = 0.0
    while not condition():
        if waited >= timeout:
            raise AssertionError(f"not reached within {timeout} s")
        await pilot.pause(0.05)
        waited += 0.05
