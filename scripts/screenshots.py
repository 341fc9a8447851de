"""Write the README's screenshots (SVG) of the main screens into assets/.

    .venv/bin/python scripts/screenshots.py

They show the sample queue of the snapshot tests (tests/support/sample_queue.py), with a few
parts in flight so that speeds and part bars show.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
HOME = Path("/tmp/score-tui-screenshots")  # noqa: S108 (fixed: it shows in the screenshots)
SIZE = (120, 34)


def isolate() -> None:
    shutil.rmtree(HOME, ignore_errors=True)
    for name in ("CONFIG", "STATE", "DATA", "CACHE"):
        os.environ[f"XDG_{name}_HOME"] = str(HOME / name.lower())
    os.environ["PYTHON_KEYRING_BACKEND"] = "keyring.backends.null.Keyring"


async def main() -> None:
    from score_tui.engine.model import PartState, State
    from tests.support.sample_queue import sample_app, write_sample_journal

    write_sample_journal(HOME / "state" / "score-tui" / "journal.sqlite", HOME)
    app = sample_app(HOME)
    out = ROOT / "assets"
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause(0.3)
        rates = iter((84e6, 61e6))
        for view in app.live.views.values():
            if view.transfer.state != State.RUNNING:
                continue
            rate = next(rates)
            queued = [p for p in view.parts if p.state == PartState.QUEUED][:6]
            for number, part in enumerate(queued):
                part.state = PartState.VERIFYING if number == 0 else PartState.MOVING
                part.moved = part.size if number == 0 else part.size * number // 7
            done = view.done_bytes
            view.samples.clear()
            view.samples.extend([(0.0, done - int(5 * rate)), (5.0, done)])
            app.live.dirty.add(view.id)
        app.redraw()
        await pilot.pause()
        shots = [
            ("queue", []),
            ("detail", ["enter"]),
            ("add-download", ["escape", "a"]),
            ("add-upload", ["escape", "u"]),
            ("settings", ["escape", "s"]),
            ("help", ["escape", "f1"]),
        ]
        for name, keys in shots:
            await pilot.press(*keys)
            await pilot.pause(0.2)
            app.save_screenshot(f"{name}.svg", path=str(out))
            print(out / f"{name}.svg")
        await pilot.press("escape")


if __name__ == "__main__":
    isolate()
    asyncio.run(main())
