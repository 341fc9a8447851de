"""`score-tui --demo` in a real terminal (tmux): what a newcomer does first.

Start the demo, see the seeded queue, download the demo analysis and upload a file with the
keyboard, quit, reopen and find the queue as it was. And with nothing configured, `score-tui`
offers the same embedded broker.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

SCORE_TUI = Path(sys.executable).with_name("score-tui")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Terminal:
    """One tmux session running a command, read with capture-pane."""

    def __init__(self, home: Path, command: list[str]) -> None:
        assert shutil.which("tmux"), "tmux is needed (scripts/test installs it)"
        self.name = f"score-tui-{uuid.uuid4().hex[:8]}"
        env = {
            "XDG_CONFIG_HOME": home / "config",
            "XDG_STATE_HOME": home / "state",
            "XDG_DATA_HOME": home / "data",
            "PYTHON_KEYRING_BACKEND": "keyring.backends.null.Keyring",
            "SCORE_TUI_BANDWIDTH_LIMIT": "2GB/s",
            "TERM": "xterm-256color",
        }
        exports = " ".join(f"{k}={shlex.quote(str(v))}" for k, v in env.items())
        line = f"env {exports} {shlex.join(command)}; echo EXITED $?; sleep 600"
        subprocess.run(
            ["tmux", "new-session", "-d", "-s", self.name, "-x", "120", "-y", "40", line],
            check=True,
            env={**os.environ, "TMUX": ""},
        )

    def screen(self) -> str:
        return subprocess.run(
            ["tmux", "capture-pane", "-p", "-t", self.name],
            capture_output=True,
            text=True,
            check=False,
        ).stdout

    def wait_for(self, pattern: str, timeout: float = 120) -> str:
        """Read the screen until `pattern` (a regular expression) shows on it."""
        deadline = time.monotonic() + timeout
        while True:
            text = self.screen()
            if re.search(pattern, text):
                return text
            if time.monotonic() > deadline:
                raise AssertionError(f"{pattern!r} never showed; the screen:\n{text}")
            time.sleep(0.2)  # polling the screen for the condition above

    def keys(self, *keys: str, literal: bool = False) -> None:
        flags = ["-l"] if literal else []
        subprocess.run(["tmux", "send-keys", "-t", self.name, *flags, *keys], check=True)

    def close(self) -> None:
        subprocess.run(["tmux", "kill-session", "-t", self.name], check=False)


@pytest.fixture
def terminals() -> Iterator[list[Terminal]]:
    opened: list[Terminal] = []
    yield opened
    for terminal in opened:
        terminal.close()


def broker_stopped(demo_dir: Path) -> bool:
    return not (demo_dir / "broker.pid").exists()


def test_demo_download_upload_quit_and_reopen(tmp_path: Path, terminals: list[Terminal]) -> None:
    home, demo_dir, port = tmp_path / "home", tmp_path / "demo", free_port()
    command = [str(SCORE_TUI), "--demo", "--demo-dir", str(demo_dir), "--demo-port", str(port)]
    terminal = Terminal(home, command)
    terminals.append(terminal)
    terminal.wait_for(r"6 done · broker connected")
    screen = terminal.screen()
    for name in ("NA12878.demo.bam", "NA12878.demo.bam.bai", "controlled-sample.bin"):
        assert name in screen

    terminal.keys("a")
    terminal.wait_for("Add download")
    terminal.keys("Enter")  # the demo analysis and study are filled in
    terminal.wait_for(r"11 done")
    downloads = demo_dir / "downloads"
    assert (downloads / "cohort-large.bin").read_bytes() == (
        demo_dir / "files" / "cohort-large.bin"
    ).read_bytes()

    extra = tmp_path / "my-reads.bin"
    extra.write_bytes(os.urandom(3_000_000))
    terminal.keys("u")
    terminal.wait_for("Add upload")
    terminal.keys(str(extra), literal=True)
    terminal.keys("Enter")  # registered in study DEMO, controlled, published
    terminal.wait_for(r"12 done")

    terminal.keys("q")
    terminal.wait_for("EXITED 0", timeout=30)
    assert broker_stopped(demo_dir)

    again = Terminal(home, command)
    terminals.append(again)
    screen = again.wait_for(r"12 done · broker connected")
    assert "my-reads.bin" in screen
    again.keys("q")
    again.wait_for("EXITED 0", timeout=30)


def test_without_a_broker_the_app_offers_the_embedded_one(
    tmp_path: Path, terminals: list[Terminal]
) -> None:
    demo_dir = tmp_path / "demo"
    command = [str(SCORE_TUI), "--demo-dir", str(demo_dir), "--demo-port", str(free_port())]
    terminal = Terminal(tmp_path / "home", command)
    terminals.append(terminal)
    terminal.wait_for("No broker is configured")
    terminal.keys("Enter")  # "Start the embedded broker" has the focus
    terminal.wait_for(r"6 done · broker connected")
    terminal.keys("q")
    terminal.wait_for("EXITED 0", timeout=30)
    assert broker_stopped(demo_dir)
