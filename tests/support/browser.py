"""A real headless Chromium (Debian's package) driven with Playwright, reading `score-tui --serve`.

textual-serve draws the terminal with xterm.js on a canvas, so there is no text in the DOM. A
script run before the page's own catches each xterm `Terminal` as the page creates it (the page
keeps it in a `terminal` property) and the test reads the text of its buffer, row by row.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import httpx

from tests.support.waiting import wait_until

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

CHROMIUM = "/usr/bin/chromium"

CATCH_TERMINALS = """
Object.defineProperty(Object.prototype, "terminal", {
  configurable: true,
  set(value) {
    Object.defineProperty(this, "terminal", {value, writable: true, enumerable: true});
    if (value && value.buffer) (window.__terminals = window.__terminals || []).push(value);
  },
});
"""

READ_SCREEN = """
() => {
  const terminal = (window.__terminals || [])[0];
  if (!terminal) return "";
  const buffer = terminal.buffer.active;
  const rows = [];
  for (let y = 0; y < terminal.rows; y++) {
    const line = buffer.getLine(buffer.viewportY + y);
    rows.push(line ? line.translateToString(true) : "");
  }
  return rows.join("\\n");
}
"""


@contextmanager
def chromium() -> Iterator[Browser]:
    from playwright.sync_api import sync_playwright

    assert shutil.which(CHROMIUM), "Chromium is needed (scripts/test installs it)"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            yield browser
        finally:
            browser.close()


def open_page(browser: Browser, url: str, size: tuple[int, int] = (1280, 800)) -> Page:
    page = browser.new_page(viewport={"width": size[0], "height": size[1]})
    page.add_init_script(CATCH_TERMINALS)
    page.goto(url)
    return page


def screen_text(page: Page) -> str:
    text: str = page.evaluate(READ_SCREEN)
    return text


def wait_for_text(page: Page, *texts: str, timeout: float = 30) -> str:
    """Poll the terminal until every one of `texts` shows; returns the screen."""
    seen = [""]

    def shown() -> bool:
        seen[0] = screen_text(page)
        return all(text in seen[0] for text in texts)

    try:
        wait_until(shown, f"{texts} in the browser", timeout)
    except AssertionError as exc:
        raise AssertionError(f"{exc}; the screen:\n{seen[0]}") from None
    return seen[0]


def start_serving(
    arguments: list[str], env: dict[str, str], cwd: Path, timeout: float = 60
) -> subprocess.Popen[str]:
    """`score-tui --serve ARGUMENTS` as a subprocess, once its page answers."""
    process = subprocess.Popen(
        [sys.executable, "-m", "score_tui", "--serve", *arguments],
        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env=env, cwd=cwd,
    )  # fmt: skip
    url = f"http://127.0.0.1:{arguments[arguments.index('--port') + 1]}/"

    def answers() -> bool:
        if process.poll() is not None:
            raise AssertionError(f"score-tui --serve ended: {process.communicate()}")
        try:
            return httpx.get(url, timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    try:
        wait_until(answers, "score-tui --serve to answer", timeout)
    except AssertionError:
        process.kill()
        process.wait()
        raise
    return process
