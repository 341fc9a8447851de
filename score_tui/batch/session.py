"""What every batch command shares: the broker and Song clients, the journal and the engine."""

from __future__ import annotations

import asyncio
import signal
from contextlib import AsyncExitStack
from types import TracebackType

from rich.console import Console

from score_tui.batch.outcome import Outcome
from score_tui.batch.printer import BatchPrinter
from score_tui.client.score import ScoreApi
from score_tui.client.song import SongApi
from score_tui.config import Settings
from score_tui.engine.engine import Engine
from score_tui.engine.journal import Journal
from score_tui.engine.model import Direction, State, Transfer


class Session:
    """Clients, journal and engine for one command; Ctrl-C pauses every transfer in flight."""

    def __init__(self, settings: Settings, console: Console, quiet: bool = False) -> None:
        self.settings = settings
        self.console = console
        self.quiet = quiet
        self.interrupted = False
        self._stack = AsyncExitStack()

    async def __aenter__(self) -> Session:
        s = self.settings
        self.api = ScoreApi(s.server_url, s.token)
        self._stack.push_async_callback(self.api.aclose)
        self.song = SongApi(s.metadata_url, s.token)
        self._stack.push_async_callback(self.song.aclose)
        self.journal = Journal(s.journal_path)
        self._stack.callback(self.journal.close)
        self.engine = Engine(self.api, self.journal, s.lock_dir, s.engine)
        self._stack.push_async_callback(self.engine.aclose)
        self.printer = BatchPrinter(self.console, self.quiet)
        self.engine.events.subscribe(self.printer)
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, self._interrupt)
            self._stack.callback(loop.remove_signal_handler, sig)
        return self

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self._stack.aclose()

    def _interrupt(self) -> None:
        """Pause everything: the journal keeps it resumable (`score-tui --batch resume`)."""
        self.interrupted = True
        self.engine.pause_all()

    def queue(self, transfer: Transfer) -> Transfer:
        """Resume the journal's unfinished transfer of the same file, or add this one."""
        known = self.journal.unfinished(
            transfer.direction, transfer.server_url, transfer.object_id, transfer.path
        )
        same_request = (
            known is not None
            and (known.offset, known.length) == (transfer.offset, transfer.length)
            and (transfer.direction == Direction.DOWNLOAD or transfer.md5 in (None, known.md5))
        )
        if known is not None and same_request:
            known.force = transfer.force
            known.validate = transfer.validate
            return self.engine.adopt(known)
        if known is not None:  # superseded: another MD5 or byte range was asked for
            known.state, known.error = State.CANCELLED, "superseded by a new request"
            self.journal.save(known)
        return self.engine.add(transfer)

    async def run(self, transfers: list[Transfer]) -> list[Outcome]:
        with self.printer:
            done = await self.engine.run(transfers)
        return [Outcome.of(t) for t in done]
