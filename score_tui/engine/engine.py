"""The transfer engine: a queue of uploads and downloads, their parts, and control over them.

UI-free: the batch printer and the TUI subscribe to its events. A part is done only once it is
verified and written to the journal; pausing or cancelling drops the parts in flight at once.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections import deque
from collections.abc import Iterable
from contextlib import AsyncExitStack
from pathlib import Path

from score_tui.client.backoff import Backoff
from score_tui.client.errors import Retryable, TransferError, UrlRefused
from score_tui.client.retrying import retrying
from score_tui.client.score import ScoreApi
from score_tui.engine.bandwidth import BandwidthLimiter
from score_tui.engine.dataplane import DataPlane
from score_tui.engine.download import DownloadRunner
from score_tui.engine.events import (
    EventBus,
    PartChanged,
    PartProgress,
    TransferChanged,
    TransferQueued,
    TransferStarted,
)
from score_tui.engine.journal import Journal
from score_tui.engine.locks import TransferBusy, TransferLock
from score_tui.engine.model import Direction, PartRecord, PartState, State, Transfer
from score_tui.engine.runner import PartsDamaged, Runner
from score_tui.engine.settings import EngineSettings
from score_tui.engine.upload import UploadRunner

log = logging.getLogger(__name__)

#: How many times a download's damaged parts are fetched again after its whole-file MD5 failed.
WHOLE_FILE_ATTEMPTS = 3
#: Files up to this size do not count against `active_transfers`: they are worked on up to
#: SMALL_FILES_AT_ONCE at a time, since their time goes to round trips, not to moving bytes.
SMALL_FILE = 16 * 1024 * 1024
SMALL_FILES_AT_ONCE = 32


class Engine:
    """Runs transfers against one broker (`api`), keeping their state in `journal`."""

    def __init__(
        self, api: ScoreApi, journal: Journal, lock_dir: Path, settings: EngineSettings
    ) -> None:
        self.api = api
        self.journal = journal
        self.lock_dir = lock_dir
        self.settings = settings
        self.events = EventBus()
        self.limiter = BandwidthLimiter(settings.bandwidth_limit)
        self.backoff = Backoff(settings.retries, settings.retry_delay, settings.retry_max_delay)
        self.plane = DataPlane(
            self.limiter, settings.stall_timeout, settings.concurrency, api.ca_file
        )
        self._slots = asyncio.Semaphore(settings.concurrency)
        self._active = asyncio.Semaphore(settings.active_transfers)
        self._admitted = asyncio.Semaphore(SMALL_FILES_AT_ONCE)
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._transfers: dict[str, Transfer] = {}
        self._stopping: dict[str, State] = {}
        self._halted = False

    async def aclose(self) -> None:
        await self.plane.aclose()

    # -- the queue ---------------------------------------------------------------------------

    def add(self, transfer: Transfer) -> Transfer:
        """Put a new transfer in the journal, queued."""
        transfer.state = State.QUEUED
        self.journal.add(transfer)
        self._transfers[transfer.id] = transfer
        self.events.publish(TransferQueued(transfer))
        return transfer

    def adopt(self, transfer: Transfer) -> Transfer:
        """Take over a transfer the journal already holds (to resume it)."""
        self._transfers[transfer.id] = transfer
        return transfer

    def transfer(self, transfer_id: str) -> Transfer:
        return self._transfers[transfer_id]

    def known(self, transfer_id: str) -> Transfer | None:
        """The engine's own object for a transfer, if it has taken it on."""
        return self._transfers.get(transfer_id)

    def supersede(self, transfer: Transfer, reason: str) -> None:
        """Cancel a transfer that is not running because a new request replaces it."""
        transfer.state, transfer.error = State.CANCELLED, reason
        self.journal.save(transfer)
        self.events.publish(TransferChanged(transfer, State.CANCELLED))

    def is_running(self, transfer_id: str) -> bool:
        """Whether the transfer has parts in flight or is being prepared or finished."""
        return transfer_id in self._tasks

    def start(self, transfer_id: str) -> None:
        """Run a queued, paused or failed transfer (no-op if it is running)."""
        if transfer_id in self._tasks:
            return
        transfer = self._transfers[transfer_id]
        if self._halted or transfer.state in (State.DONE, State.CANCELLED):
            return
        # Only in memory: the journal row may belong to a process still working on it, and is
        # written once this process holds the transfer's lock.
        transfer.state, transfer.error = State.QUEUED, None
        self.events.publish(TransferChanged(transfer, State.QUEUED))
        task = asyncio.create_task(self._run(transfer))
        task.add_done_callback(lambda done: self._cancelled_before_start(transfer, done))
        self._tasks[transfer_id] = task

    async def run(self, transfers: Iterable[Transfer]) -> list[Transfer]:
        """Start the transfers and wait until each is done, failed, paused or cancelled."""
        chosen = list(transfers)
        for transfer in chosen:
            self.start(transfer.id)
        await self.wait([t.id for t in chosen])
        return chosen

    async def wait(self, transfer_ids: Iterable[str] | None = None) -> None:
        ids = list(self._tasks) if transfer_ids is None else list(transfer_ids)
        tasks = [self._tasks[i] for i in ids if i in self._tasks]
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)

    # -- control -----------------------------------------------------------------------------

    def pause(self, transfer_id: str) -> None:
        self._stop(transfer_id, State.PAUSED)

    def cancel(self, transfer_id: str) -> None:
        self._stop(transfer_id, State.CANCELLED)

    def resume(self, transfer_id: str) -> None:
        self.start(transfer_id)

    def pause_all(self) -> None:
        for transfer_id in list(self._transfers):
            self.pause(transfer_id)

    def halt(self) -> None:
        """Pause everything and start nothing more (the process is being interrupted)."""
        self._halted = True
        self.pause_all()

    @property
    def busy(self) -> bool:
        return bool(self._tasks)

    def resume_all(self) -> None:
        for transfer_id, transfer in list(self._transfers.items()):
            if transfer.state == State.PAUSED:
                self.start(transfer_id)

    def set_bandwidth_limit(self, rate: float | None) -> None:
        self.limiter.set_rate(rate)

    def _stop(self, transfer_id: str, state: State) -> None:
        transfer = self._transfers[transfer_id]
        task = self._tasks.get(transfer_id)
        if task is not None:
            self._stopping[transfer_id] = state
            task.cancel()
        elif (
            transfer.state in (State.QUEUED, State.PAUSED, State.FAILED)
            and (state == State.CANCELLED or transfer.state == State.QUEUED)
            and not TransferLock.held(self.lock_dir, transfer_id)  # another process runs it
        ):
            self._settle(transfer, state)

    # -- running -----------------------------------------------------------------------------

    def _set_state(self, transfer: Transfer, state: State, error: str | None = None) -> None:
        transfer.state = state
        transfer.error = error
        self.journal.save(transfer)
        self.events.publish(TransferChanged(transfer, state))

    def _runner(self, transfer: Transfer) -> Runner:
        kind = UploadRunner if transfer.direction == Direction.UPLOAD else DownloadRunner
        return kind(
            transfer, self.api, self.plane, self.journal, self.events.publish, self.lock_dir
        )

    async def _run(self, transfer: Transfer) -> None:
        lock = TransferLock(self.lock_dir, transfer.id)
        try:
            lock.acquire()
        except (TransferBusy, OSError) as exc:
            transfer.error = str(exc)
            transfer.state = State.FAILED
            self.events.publish(TransferChanged(transfer, State.FAILED))
            self._tasks.pop(transfer.id, None)
            return
        try:
            async with AsyncExitStack() as slot:
                # Big files wait only for one another, small ones only for one another.
                known_big = _known_size(transfer) > SMALL_FILE
                await slot.enter_async_context(self._active if known_big else self._admitted)
                self._set_state(transfer, State.RUNNING)
                runner = self._runner(transfer)
                try:
                    await self._attempt(transfer, runner, None if known_big else slot)
                finally:
                    runner.close()
            self._set_state(transfer, State.DONE)
        except asyncio.CancelledError:
            requested = self._stopping.pop(transfer.id, None)
            self._settle(transfer, requested or State.PAUSED)
            task = asyncio.current_task()
            if requested is None or (task is not None and task.uncancel() > 0):
                raise  # cancelled from outside (shutdown): leave it paused and go on stopping
        except Exception as exc:
            # A pause or cancel asked while a part was failing wins over the failure.
            requested = self._stopping.pop(transfer.id, None)
            self._settle(transfer, requested or State.FAILED, _reason(exc, transfer))
        finally:
            lock.release()
            self._tasks.pop(transfer.id, None)

    def _cancelled_before_start(self, transfer: Transfer, task: asyncio.Task[None]) -> None:
        """A task cancelled before its first step never ran `_run`: settle it here."""
        if self._tasks.get(transfer.id) is task:
            del self._tasks[transfer.id]
            self._settle(transfer, self._stopping.pop(transfer.id, State.PAUSED))

    def _settle(self, transfer: Transfer, state: State, error: str | None = None) -> None:
        """Record how a run ended; a cancelled download's temporary file goes."""
        if state == State.CANCELLED and transfer.temp_path:
            try:
                os.unlink(transfer.temp_path)
            except FileNotFoundError:
                pass
            except OSError as exc:
                log.warning("cannot remove %s: %s", transfer.temp_path, exc.strerror)
        try:
            self._set_state(transfer, state, error if state == State.FAILED else None)
        except Exception:
            log.exception("cannot record transfer %s as %s", transfer.id, state)

    async def _attempt(
        self, transfer: Transfer, runner: Runner, slot: AsyncExitStack | None
    ) -> None:
        """`slot`: where a file found to be big once prepared takes a big file's place too."""
        parts = await runner.prepare()
        if slot is not None and transfer.size > SMALL_FILE:
            await slot.enter_async_context(self._active)
        transfer.bytes_done = sum(p.size for p in parts if p.done)
        self.events.publish(TransferStarted(transfer, tuple(parts)))
        failures: dict[int, int] = {}
        pending = [p for p in parts if not p.done]
        for round_ in range(WHOLE_FILE_ATTEMPTS + 1):
            await self._move_all(transfer, runner, parts, pending, failures)
            try:
                await runner.finish()
                return
            except PartsDamaged as found:
                if round_ == WHOLE_FILE_ATTEMPTS:
                    raise TransferError(f"{found} (gave up after {round_ + 1} attempts)") from None
                pending = self._damaged(transfer, parts, found, failures)

    def _damaged(
        self,
        transfer: Transfer,
        parts: list[PartRecord],
        found: PartsDamaged,
        failures: dict[int, int],
    ) -> list[PartRecord]:
        """The parts to fetch again after the whole-file MD5 failed (they count as failures)."""
        by_number = {part.number: part for part in parts}
        again = []
        for damaged, error in found.damaged:
            part = by_number[damaged.number]
            part.done, part.md5, part.etag = False, None, None
            transfer.bytes_done -= part.size
            self.events.publish(PartChanged(transfer.id, part.number, PartState.FAILED, str(error)))
            failures[part.number] = failures.get(part.number, 0) + 1
            if failures[part.number] >= self.backoff.attempts:
                count = failures[part.number]
                raise TransferError(f"{error} (gave up after {count} attempts)") from None
            again.append(part)
        return again

    async def _move_all(
        self,
        transfer: Transfer,
        runner: Runner,
        parts: list[PartRecord],
        pending: list[PartRecord],
        failures: dict[int, int],
    ) -> None:
        queue = deque(pending)

        async def worker() -> None:
            while queue:
                await self._move(transfer, runner, parts, queue.popleft(), failures)

        try:
            async with asyncio.TaskGroup() as group:
                for _ in range(min(self.settings.per_transfer, len(queue))):
                    group.create_task(worker())
        except BaseExceptionGroup as group:
            raise _first_error(group) from None

    async def _move(
        self,
        transfer: Transfer,
        runner: Runner,
        parts: list[PartRecord],
        part: PartRecord,
        failures: dict[int, int],
    ) -> None:
        """Move one part, retrying with backoff; fresh URLs when the store refuses one (at most
        `backoff.attempts` times, not counted as failures). `failures` counts each part's
        failures across the transfer's rounds."""
        refreshes = 0
        generation = runner.url_generation

        async def attempt() -> None:
            nonlocal generation
            moved = 0

            def on_bytes(count: int) -> None:
                nonlocal moved
                moved += count
                transfer.bytes_done += count
                self.events.publish(PartProgress(transfer.id, part.number, count))

            generation = runner.url_generation
            try:
                async with self._slots:
                    self.events.publish(PartChanged(transfer.id, part.number, PartState.MOVING))
                    await runner.move(part, on_bytes)
                await runner.record(part)
            except BaseException as exc:
                on_bytes(-moved)
                if isinstance(exc, Retryable):
                    self.events.publish(
                        PartChanged(transfer.id, part.number, PartState.FAILED, str(exc))
                    )
                raise

        async def fresh_urls(error: Exception) -> bool:
            nonlocal refreshes
            if not isinstance(error, UrlRefused) or refreshes >= self.backoff.attempts:
                return False
            refreshes += 1
            await runner.refresh_urls(generation)
            return True

        def give_up(error: Exception, count: int) -> Exception:
            return TransferError(f"{error} (gave up after {count} attempts)")

        await retrying(
            attempt,
            self.backoff,
            recover=fresh_urls,
            give_up=give_up,
            failures=failures,
            key=part.number,
        )
        part.done = True
        self.journal.part_done(transfer.id, part)
        runner.landed(parts)
        self.events.publish(PartChanged(transfer.id, part.number, PartState.DONE))


def _known_size(transfer: Transfer) -> int:
    """An upload's file size; a download's size if known before its spec (0 otherwise)."""
    if transfer.direction == Direction.DOWNLOAD:
        return transfer.size
    try:
        return os.stat(transfer.path).st_size
    except OSError:
        return 0


def _first_error(group: BaseExceptionGroup) -> BaseException:
    """The error to report from a group of failed part workers."""
    error: BaseException = group
    while isinstance(error, BaseExceptionGroup):
        error = error.exceptions[0]
    return error


def _reason(error: Exception, transfer: Transfer) -> str:
    """The one line a user reads when a transfer fails."""
    if isinstance(error, TransferError):
        return str(error)
    if isinstance(error, OSError):
        return f"{error.filename or transfer.path}: {error.strerror or error}"
    log.error("transfer %s failed", transfer.id, exc_info=error)
    return f"unexpected error: {error!r}"
