"""What the batch commands and the terminal UI share: clients, the journal and the engine.

`queue()` decides whether a request resumes an unfinished transfer of the journal or starts a
new one, so a batch run and the UI see, and continue, the same queue.
"""

from __future__ import annotations

import contextlib
import os
from types import TracebackType

from rich.console import Console

from score_tui.client.score import ScoreApi
from score_tui.client.song import SongApi
from score_tui.config import Settings
from score_tui.engine.engine import Engine
from score_tui.engine.hashing import normalized_md5
from score_tui.engine.journal import Journal
from score_tui.engine.locks import TransferLock
from score_tui.engine.model import Direction, Transfer, file_stamp


class Workspace:
    """The broker and Song clients, the journal and the engine of one process.

    `console` takes notes for the user (a skipped index lookup, a file left in place); `quiet`
    silences them.
    """

    def __init__(self, settings: Settings, console: Console, quiet: bool = False) -> None:
        self.settings = settings
        self.console = console
        self.quiet = quiet
        self._stack = contextlib.AsyncExitStack()

    async def __aenter__(self) -> Workspace:
        s = self.settings
        self.api = ScoreApi(s.server_url, s.token, ca_file=s.ca_file)
        self._stack.push_async_callback(self.api.aclose)
        self.song = SongApi(s.metadata_url, s.token, ca_file=s.ca_file)
        self._stack.push_async_callback(self.song.aclose)
        self.journal = Journal(s.journal_path)
        self._stack.callback(self.journal.close)
        self.engine = Engine(self.api, self.journal, s.lock_dir, s.engine)
        self._stack.push_async_callback(self.engine.aclose)
        return self

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self._stack.aclose()

    def note(self, markup: str) -> None:
        if not self.quiet:
            self.console.print(markup, highlight=False, soft_wrap=True)

    async def check_storage(self, verify_connection: bool) -> str:
        """Learn the store's kind (`/profile`) and, as score-client does, check the ping URL."""
        profile = await self.api.profile()
        self.engine.plane.etags_are_md5 = profile != "az"
        if verify_connection:
            await self.api.verify_connection()
        return profile

    def queue(self, transfer: Transfer) -> Transfer:
        """Resume the journal's unfinished transfer of the same file, or add this one."""
        known = self.journal.unfinished(
            transfer.direction, transfer.server_url, transfer.object_id, transfer.path
        )
        if known is not None:  # the object the engine (and the UI) already show, if any
            known = self.engine.known(known.id) or known
        busy = known is not None and TransferLock.held(self.settings.lock_dir, known.id)
        if known is not None and (busy or self._same_request(known, transfer)):
            known.force = transfer.force
            known.validate = transfer.validate
            return self.engine.adopt(known)
        if known is not None:  # superseded: another MD5 or range, or the file changed
            self.engine.supersede(known, "superseded by a new request")
            if known.temp_path:
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(known.temp_path)
        return self.engine.add(transfer)

    @staticmethod
    def _same_request(known: Transfer, asked: Transfer) -> bool:
        """Whether a new request can resume `known`: same range, same MD5, unchanged file."""
        if (known.offset, known.length) != (asked.offset, asked.length):
            return False
        if asked.direction == Direction.DOWNLOAD:
            return True
        if asked.md5 is None and known.md5_declared:
            return False  # the user now wants the MD5 computed, not the one given before
        if asked.md5 is not None and normalized_md5(asked.md5) != known.md5:
            return False
        try:
            return known.source_stamp in (None, file_stamp(asked.path))
        except OSError:
            return True  # the upload itself will say what is wrong with the file
