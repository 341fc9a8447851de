"""Write assets/browser.png: `score-tui --demo --serve` in headless Chromium, downloads running.

    .venv/bin/python scripts/browser_screenshot.py

It needs Debian's chromium (`apt-get install chromium`). The demo lives in a temporary home;
the page shows its seeded queue after `a`, Enter (download the demo analysis).
"""

from __future__ import annotations

import os
import re
import signal
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main() -> None:
    from tests.support.broker import free_port
    from tests.support.browser import (
        chromium,
        open_page,
        screen_text,
        start_serving,
        wait_for_text,
    )
    from tests.support.waiting import wait_until

    with tempfile.TemporaryDirectory() as temporary:
        home = Path(temporary)
        env = {k: v for k, v in os.environ.items() if k not in ("STORAGE_URL", "ACCESSTOKEN")}
        env.update({f"XDG_{n}_HOME": str(home / n.lower()) for n in ("CONFIG", "STATE", "DATA")})
        env.update(PYTHON_KEYRING_BACKEND="keyring.backends.null.Keyring", PYTHONPATH=str(ROOT))
        port = free_port()
        arguments = ["--demo", "--demo-port", str(free_port()), "--port", str(port)]
        server = start_serving(arguments, env, home, timeout=300)
        try:
            with chromium() as browser:
                page = open_page(browser, f"http://127.0.0.1:{port}", size=(1200, 560))
                wait_for_text(page, "cohort-large.bin", "connected")
                page.focus(".xterm-helper-textarea")
                page.keyboard.press("a")
                wait_for_text(page, "Add download")
                page.keyboard.press("Enter")
                # Until a download shows some progress.
                moving = re.compile(r"\b[1-9]\d?\.\d%.*running")
                wait_until(lambda: moving.search(screen_text(page)) is not None, "progress", 60)
                page.screenshot(path=str(ROOT / "assets" / "browser.png"))
                server.send_signal(signal.SIGTERM)
                server.wait(30)
        finally:
            if server.poll() is None:
                server.kill()
                server.wait()
    print(ROOT / "assets" / "browser.png")


if __name__ == "__main__":
    main()
