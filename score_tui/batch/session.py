"""A batch command's workspace: progress on stderr, and Ctrl-C pauses every transfer in flight."""

from __future__ import annotations

import asyncio
import signal

from score_tui.batch.printer import BatchPrinter
from score_tui.engine.model import Transfer
from score_tui.planning.outcome import Outcome
from score_tui.workspace import Workspace


class Session(Workspace):
    """The workspace of one batch command."""

    interrupted = False

    async def __aenter__(self) -> Session:
        await super().__aenter__()
        self._command = asyncio.current_task()
        self.printer = BatchPrinter(self.console, self.quiet)
        self.engine.events.subscribe(self.printer)
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, self._interrupt)
            self._stack.callback(loop.remove_signal_handler, sig)
        return self

    def _interrupt(self) -> None:
        """Pause everything: the journal keeps it resumable (`score-tui --batch resume`)."""
        self.interrupted = True
        self.engine.halt()
        if not self.engine.busy and self._command is not None:
            self._command.cancel()  # still looking things up: stop at once

    async def run(self, transfers: list[Transfer]) -> list[Outcome]:
        with self.printer:
            done = await self.engine.run(transfers)
        return [Outcome.of(t) for t in done]
