"""`score-tui --serve` in a real headless Chromium against a real broker.

A queue made with the batch client shows in the page; `a` opens the add-download form; a second
tab gets its own process on the same journal; pages of other sites and other host names are
refused; SIGTERM stops the server and every session cleanly.
"""

from __future__ import annotations

import json
import signal
from pathlib import Path

import httpx
import pytest

from tests.conftest import BrokerFactory
from tests.support.broker import BrokerProcess, free_port
from tests.support.browser import chromium, open_page, start_serving, wait_for_text
from tests.support.tui import Tui
from tests.support.waiting import wait_until


@pytest.fixture
def broker(broker_factory: BrokerFactory, tmp_path: Path) -> BrokerProcess:
    storage = {"backend": "local", "local": {"directory": str(tmp_path / "store")}}
    return broker_factory(storage, song={"url": "embedded"})


def descendants(pid: int) -> set[int]:
    """The processes under `pid` (the browser sessions and their shells)."""
    parents: dict[int, int] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            parents[int(stat.parent.name)] = int(stat.read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
    found: set[int] = set()
    frontier = {pid}
    while frontier:
        frontier = {child for child, parent in parents.items() if parent in frontier}
        found |= frontier
    return found


def running(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def test_the_queue_in_a_browser(broker: BrokerProcess, tmp_path: Path) -> None:
    home = tmp_path / "user"
    home.mkdir()
    user = Tui(home, broker.url)
    (home / "notes.txt").write_text("notes of the web test\n" * 100)
    uploaded = user.run("upload", "--study", "WEB", "--file", "notes.txt", "--publish")
    assert uploaded.returncode == 0, uploaded.stderr
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = user.env(XDG_DATA_HOME=str(home / "data"))
    env.pop("STORAGE_URL")  # the broker comes from --server-url, passed on to the sessions
    server = start_serving(["--port", str(port), "--server-url", broker.url], env, home)
    try:
        with chromium() as browser:
            first = open_page(browser, url)
            wait_for_text(first, "notes.txt", "done", "connected")
            second = open_page(browser, url)
            wait_for_text(second, "notes.txt", "done", "connected")
            sessions = {p for p in descendants(server.pid) if b"score_tui" in cmdline(p)}
            assert len(sessions) >= 2  # a process per tab

            first.focus(".xterm-helper-textarea")
            first.keyboard.press("a")
            wait_for_text(first, "Add download", "Object ids")

            # Another site's script in the same browser, and DNS rebinding, are refused.
            upgrade = {"Connection": "Upgrade", "Upgrade": "websocket",
                       "Sec-WebSocket-Version": "13",
                       "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ=="}  # fmt: skip
            foreign = httpx.get(f"{url}/ws", headers={**upgrade, "Origin": "http://evil.example"})
            assert foreign.status_code == 403
            rebound = httpx.get(url, headers={"Host": f"evil.example:{port}"})
            assert rebound.status_code == 403
            assert httpx.get(url, headers={"Host": f"localhost:{port}"}).status_code == 200

            # Stopped with both tabs open: each session quits as the app does.
            server.send_signal(signal.SIGTERM)
            status = server.wait(10)  # promptly: the sessions are told to quit
            # The page shows "Session ended" (its websocket closed).
            closed = "() => document.body.classList.contains('-closed')"
            wait_until(lambda: bool(first.evaluate(closed)), "the page to say the session ended")
    finally:
        if server.poll() is None:
            server.kill()
            server.wait()
    _, stderr = server.communicate()
    assert status == 0, stderr
    assert stderr.splitlines()[0] == f"score-tui: open {url} in a browser (Ctrl-C stops)"
    wait_until(lambda: not any(running(p) for p in sessions), "the sessions to end", 10)
    # They quit as the app quits (pausing what runs and recording it), not killed.
    recorded = json.loads((home / "state" / "score-tui" / "tui-interrupted.json").read_text())
    assert broker.url in recorded


def cmdline(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return b""
