"""`score-tui --demo` ends with its broker, however it ends: its terminal closed (SIGHUP), killed
outright (SIGKILL), or after taking over a broker an earlier demo left running.

The demo runs as a user runs it: in a terminal of its own (a pseudo-terminal that is its
controlling terminal, so closing it sends the demo SIGHUP, as closing a terminal window does).
"""

from __future__ import annotations

import fcntl
import os
import select
import signal
import struct
import subprocess
import sys
import termios
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.support.broker import free_port
from tests.support.waiting import WAIT, wait_until

SCORE_TUI = Path(sys.executable).with_name("score-tui")


def alive(pid: int) -> bool:
    """Whether the process runs (a zombie does not)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[-1].split()[0] != "Z"


def _take_terminal() -> None:
    """In the demo's process: a new session whose controlling terminal is its stdin."""
    os.setsid()
    fcntl.ioctl(0, termios.TIOCSCTTY, 0)


class TerminalWindow:
    """A command in a pseudo-terminal of 120x40, its screen output kept as bytes."""

    def __init__(self, home: Path, command: list[str]) -> None:
        master, slave = os.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))
        env = {
            **os.environ,
            "XDG_CONFIG_HOME": str(home / "config"),
            "XDG_STATE_HOME": str(home / "state"),
            "XDG_DATA_HOME": str(home / "data"),
            "PYTHON_KEYRING_BACKEND": "keyring.backends.null.Keyring",
            "SCORE_TUI_BANDWIDTH_LIMIT": "2GB/s",
            "TERM": "xterm-256color",
        }
        self.process = subprocess.Popen(
            command, stdin=slave, stdout=slave, stderr=slave, env=env,
            preexec_fn=_take_terminal,  # only system calls: safe beside the reader threads
        )  # fmt: skip
        os.close(slave)
        self.master = master
        self.output = bytearray()
        self._open = True
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        while self._open:
            ready, _, _ = select.select([self.master], [], [], 0.1)
            if not ready:
                continue
            try:
                chunk = os.read(self.master, 65536)
            except OSError:  # the demo closed its side
                return
            if not chunk:
                return
            self.output += chunk

    def wait_for(self, text: str) -> None:
        wait_until(lambda: text.encode() in self.output, f"{text!r} on the screen")

    def close(self) -> None:
        """Close the window: the kernel sends the demo (the session leader) SIGHUP."""
        if self._open:
            self._open = False
            self._reader.join()
            os.close(self.master)

    def ended(self) -> bool:
        return self.process.poll() is not None


@pytest.fixture(scope="module")
def demo_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """One user's home and demo directory for the module: the demo study is seeded once.
    A broker a failed test left running is stopped at the end."""
    home = tmp_path_factory.mktemp("demo-home")
    yield home
    pid_file = home / "demo" / "broker.pid"
    if pid_file.exists() and alive(pid := broker_pid(home)):
        os.kill(pid, signal.SIGKILL)


@pytest.fixture
def windows() -> Iterator[list[TerminalWindow]]:
    opened: list[TerminalWindow] = []
    yield opened
    for window in opened:
        window.close()
        if not window.ended():
            window.process.kill()
            window.process.wait()


def open_demo(home: Path, port: int, windows: list[TerminalWindow]) -> TerminalWindow:
    command = [str(SCORE_TUI), "--demo", "--demo-dir", str(home / "demo"), "--demo-port",
               str(port)]  # fmt: skip
    window = TerminalWindow(home, command)
    windows.append(window)
    window.wait_for("broker connected")
    return window


def healthy(port: int) -> bool:
    try:
        return httpx.get(f"http://127.0.0.1:{port}/health", timeout=2).status_code == 200
    except httpx.TransportError:
        return False


def broker_pid(home: Path) -> int:
    return int((home / "demo" / "broker.pid").read_text().split()[0])


def test_closing_the_terminal_stops_the_demo_broker(
    demo_home: Path, windows: list[TerminalWindow]
) -> None:
    port = free_port()
    window = open_demo(demo_home, port, windows)
    pid = broker_pid(demo_home)
    assert alive(pid)

    window.close()
    wait_until(window.ended, "the demo to end")
    assert window.process.returncode == -signal.SIGHUP
    wait_until(lambda: not alive(pid), "the broker to stop")
    assert not (demo_home / "demo" / "broker.pid").exists()
    assert not healthy(port)


def test_a_demo_killed_outright_takes_its_broker_with_it(
    demo_home: Path, windows: list[TerminalWindow]
) -> None:
    window = open_demo(demo_home, free_port(), windows)
    pid = broker_pid(demo_home)

    window.process.send_signal(signal.SIGKILL)
    window.process.wait()
    wait_until(lambda: not alive(pid), "the broker to stop with its demo")


def test_a_broker_left_by_an_earlier_demo_is_taken_over_and_stopped(
    demo_home: Path, windows: list[TerminalWindow]
) -> None:
    port = free_port()
    open_demo(demo_home, port, windows).close()  # writes the config for this port
    wait_until(lambda: not (demo_home / "demo" / "broker.pid").exists(), "the first demo's end")
    # A broker as an earlier version of the demo left it: running, its demo gone.
    demo_dir = demo_home / "demo"
    with (demo_dir / "broker.log").open("ab") as log:
        left = subprocess.Popen(
            [sys.executable, "-m", "score_broker", "serve", "--config",
             str(demo_dir / "broker.toml")],
            stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True,
        )  # fmt: skip
    try:
        wait_until(lambda: healthy(port), "the left broker to answer")
        (demo_dir / "broker.pid").write_text(f"{left.pid} {port}")
        window = open_demo(demo_home, port, windows)
        assert broker_pid(demo_home) == left.pid, "the demo uses the broker that was running"

        window.close()
        left.wait(timeout=WAIT)  # the demo stopped it: it ends, and this test reaps it
        # The demo removes the pid file once it has seen the broker end, a moment after.
        wait_until(lambda: not (demo_dir / "broker.pid").exists(), "the demo to forget it")
    finally:
        if left.poll() is None:
            left.kill()
            left.wait()
