"""The terminal UI: a subscriber of the engine that shows the queue and controls it.

The queue lives in the journal: the app shows what the journal holds for its broker, resumes
what was interrupted (a setting), and pauses what is running when it quits. Screen updates read
memory only (`LiveQueue`), on a timer.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import io
import json
import logging
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from rich.console import Console
from textual import work
from textual.app import App, SystemCommand
from textual.binding import Binding
from textual.css.query import NoMatches
from textual.screen import Screen
from textual.worker import WorkerCancelled

from score_tui.client.errors import CertificateRefused, TransferError
from score_tui.config import Settings, state_dir
from score_tui.engine.engine import Engine
from score_tui.engine.journal import Journal
from score_tui.engine.locks import TransferLock
from score_tui.engine.model import State, Transfer
from score_tui.errors import ScoreTuiError
from score_tui.live_queue import LiveQueue, TransferView
from score_tui.planning.outcome import Outcome
from score_tui.planning.requests import DownloadRequest, UploadRequest
from score_tui.planning.song_upload import Registration
from score_tui.planning.transfers import plan_download, plan_upload
from score_tui.screens.detail import TransferDetailScreen
from score_tui.screens.help import HelpScreen
from score_tui.screens.queue import QueueScreen
from score_tui.workspace import Workspace

log = logging.getLogger(__name__)

#: How often changed rows are redrawn, and how often speeds are sampled (seconds).
REDRAW_INTERVAL = 0.25
SAMPLE_INTERVAL = 1.0
#: How often the journal is read for what other processes (a batch run) queued or moved.
JOURNAL_POLL = 2.0
#: Finished transfers shown from earlier sessions.
HISTORY = 200
UNFINISHED = (State.QUEUED, State.RUNNING, State.PAUSED, State.FAILED)


def interrupted_path() -> Path:
    """Per broker, the transfers the app paused when it quit (resumed at the next start)."""
    return state_dir() / "tui-interrupted.json"


def read_interrupted() -> dict[str, list[str]]:
    try:
        found = json.loads(interrupted_path().read_text())
    except (OSError, ValueError):
        return {}
    return found if isinstance(found, dict) else {}


def record_interrupted(server_url: str, waiting: list[str], settled: list[str]) -> None:
    """Record what the next start resumes: `waiting` (what this process ran or had waiting when
    it quit) and what was recorded before and is neither settled (done, failed or cancelled)
    nor now waiting: paused since an earlier quit, or another instance's on the same journal (a
    browser tab of `--serve`). Instances quitting at once take turns (a lock), so none loses
    what another wrote."""
    path = interrupted_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.with_suffix(".lock").open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        interrupted = read_interrupted()
        dropped = set(waiting) | set(settled)
        earlier = [i for i in interrupted.get(server_url, []) if i not in dropped]
        interrupted[server_url] = waiting + earlier
        temporary = path.with_suffix(".tmp")
        temporary.write_text(json.dumps(interrupted))
        temporary.replace(path)


class TransferApp(App[str | None]):
    """score-tui: the queue of uploads and downloads through one broker."""

    CSS_PATH = Path(__file__).with_name("app.tcss")
    TITLE = "score-tui"
    BINDINGS = [
        Binding("f1,question_mark", "help", "Help"),
        Binding("s", "settings", "Settings"),
        Binding("q", "quit", "Quit"),
    ]

    def __init__(
        self,
        settings: Settings,
        *,
        resume_on_start: bool = True,
        defaults: dict[str, str] | None = None,
        demo: bool = False,
        offer_embedded: bool = False,
    ) -> None:
        super().__init__()
        self.settings = settings
        self.resume_on_start = resume_on_start
        #: What the add screens start from: study, analysis, downloads and files directories.
        self.defaults = defaults or {}
        #: On the demo's embedded broker, whose URL and token are fixed.
        self.demo = demo
        self.offer_embedded = offer_embedded
        self.live = LiveQueue()
        self.broker_status = "connecting"
        self.sub_title = settings.server_url
        self._stack = contextlib.AsyncExitStack()
        self._notes = io.StringIO()
        self._opened = asyncio.Event()
        #: Quitting and unmounting both stop the engine: the second waits for the first.
        self._stopping = asyncio.Lock()
        self._reader: Journal | None = None
        #: Transfers another process (a batch run) queued while the app was open: its own.
        self._foreign: set[str] = set()

    # -- lifecycle ---------------------------------------------------------------------------

    async def on_mount(self) -> None:
        console = Console(file=self._notes, width=200, color_system=None, highlight=False)
        self.workspace = await self._stack.enter_async_context(Workspace(self.settings, console))
        self.engine.events.subscribe(self.live)
        self._load_journal()
        await self.push_screen(QueueScreen())
        self.set_interval(REDRAW_INTERVAL, self.redraw)
        self.set_interval(SAMPLE_INTERVAL, self.live.tick)
        self.set_interval(JOURNAL_POLL, self.sync_journal)
        self._opened.set()
        if self.offer_embedded:
            from score_tui.screens.offer_broker import OfferBrokerScreen

            self.push_screen(OfferBrokerScreen(), self._on_offer)
        else:
            self.connect()

    @property
    def engine(self) -> Engine:
        return self.workspace.engine

    def _load_journal(self) -> None:
        journal = self.workspace.journal
        here = [t for t in journal.transfers() if t.server_url == self.settings.server_url]
        unfinished = [t for t in here if t.state in UNFINISHED]
        finished = [t for t in here if t.state == State.DONE][-HISTORY:]
        shown = sorted(unfinished + finished, key=lambda t: t.created)
        for transfer in shown:
            self.engine.adopt(transfer)
        self.live.load(shown, {t.id: journal.parts(t.id) for t in unfinished})

    @work(thread=True, exclusive=True, group="journal")
    def sync_journal(self) -> None:
        """Read the journal in a thread (its own connection) for other processes' changes."""
        if self._reader is None:
            self._reader = Journal(self.settings.journal_path)
        rows = [t for t in self._reader.transfers() if t.server_url == self.settings.server_url]
        self.call_from_thread(self._merge_journal, rows)

    def _merge_journal(self, rows: list[Transfer]) -> None:
        if not self._opened.is_set():
            return
        added = []
        for row in rows:
            view = self.live.views.get(row.id)
            if view is None:
                if row.state != State.CANCELLED:
                    added.append(self.engine.adopt(row))
                    self._foreign.add(row.id)
            elif not self.engine.is_running(row.id) and row.updated >= view.transfer.updated:
                # (A row read before this process's last write of it is older: it is ignored.)
                shown = view.transfer
                if (row.state, row.bytes_done, row.size) != (
                    shown.state,
                    shown.bytes_done,
                    shown.size,
                ):
                    shown.state, shown.error = row.state, row.error
                    shown.size, shown.bytes_done = row.size, row.bytes_done
                    self.live.dirty.add(row.id)
        if added:
            self.live.load(added, {})

    @work(exclusive=True, group="connect")
    async def connect(self) -> None:
        """Check the broker, then resume what was interrupted (or say what waits)."""
        try:
            profile = await self.workspace.check_storage(verify_connection=True)
        except CertificateRefused as exc:  # the line says what to do; the URL is not at fault
            self.broker_status = "certificate refused"
            self.notify(str(exc), title="Broker certificate refused", severity="error", timeout=30)
            return
        except TransferError as exc:
            self.broker_status = "unreachable"
            self.notify(
                f"{exc}. Check the broker URL in Settings (s).",
                title="Broker unreachable",
                severity="error",
                timeout=10,
            )
            return
        self.broker_status = f"connected ({profile})"
        self._resume_interrupted()

    def _resume_interrupted(self) -> None:
        paused_at_exit = set(read_interrupted().get(self.settings.server_url, []))
        waiting = [
            v.transfer
            for v in self.live.views.values()
            if v.transfer.state in (State.QUEUED, State.RUNNING)
            or (v.transfer.state == State.PAUSED and v.id in paused_at_exit)
        ]
        waiting = [t for t in waiting if not TransferLock.held(self.settings.lock_dir, t.id)]
        if not waiting:
            return
        if self.resume_on_start:
            for transfer in waiting:
                self.engine.start(transfer.id)
            self.notify(f"Resuming {len(waiting)} unfinished transfers.", title="Queue")
        else:
            self.notify(
                f"{len(waiting)} unfinished transfers wait; P resumes them all.", title="Queue"
            )

    async def action_quit(self) -> None:
        """Pause what is running (the journal keeps it), then leave."""
        await self._stop_engine()
        self.exit()

    async def _stop_engine(self) -> None:
        async with self._stopping:
            await self._stop_engine_once()

    async def _stop_engine_once(self) -> None:
        if not self._opened.is_set() or not hasattr(self, "workspace"):
            return
        # What runs or waits to run now, and what is over (paused ones stay as recorded).
        mine = [v for v in self.live.views.values() if v.id not in self._foreign]
        waiting = [v.id for v in mine if v.transfer.state in (State.QUEUED, State.RUNNING)]
        kept = (State.QUEUED, State.RUNNING, State.PAUSED)
        settled = [v.id for v in mine if v.transfer.state not in kept]
        self.engine.halt()
        await self.engine.wait()
        with contextlib.suppress(OSError):
            record_interrupted(self.settings.server_url, waiting, settled)
        self._opened.clear()
        for reader in [w for w in self.workers if w.group == "journal"]:
            # At shutdown Textual may have cancelled a reader already: it is done, too.
            with contextlib.suppress(WorkerCancelled):
                await reader.wait()
        if self._reader is not None:
            self._reader.close()
        await self._stack.aclose()

    async def on_unmount(self) -> None:
        await self._stop_engine()

    def restart(self) -> None:
        """Leave so that `score-tui` starts again with the saved settings."""
        self.run_worker(self._restart(), exclusive=True, group="restart")

    async def _restart(self) -> None:
        await self._stop_engine()
        self.exit("restart")

    def _on_offer(self, choice: str | None) -> None:
        if choice == "embedded":
            self.run_worker(self._start_embedded(), group="restart")
        elif choice == "settings":
            self.action_settings()
            self.connect()
        else:
            self.connect()

    async def _start_embedded(self) -> None:
        await self._stop_engine()
        self.exit("embedded")

    # -- drawing -----------------------------------------------------------------------------

    def redraw(self) -> None:
        """Redraw what changed since the last call, and toast what finished."""
        for transfer in self.live.finished:
            self._toast(transfer)
        self.live.finished.clear()
        notes = self._notes.getvalue().strip()
        if notes:
            self._notes.seek(0)
            self._notes.truncate()
            for line in notes.splitlines():
                self.notify(line.lstrip("!- "), title="Note", severity="warning", timeout=8)
        dirty, self.live.dirty = self.live.dirty, set()
        parts_dirty, self.live.parts_dirty = self.live.parts_dirty, set()
        for screen in self.screen_stack:
            # (a screen just pushed may not have its widgets yet: it draws itself on mount)
            if isinstance(screen, QueueScreen | TransferDetailScreen) and screen.is_mounted:
                try:
                    screen.redraw(dirty, parts_dirty)
                except NoMatches:
                    continue

    def _toast(self, transfer: Transfer) -> None:
        verb = "Uploaded" if transfer.direction == "upload" else "Downloaded"
        if transfer.state == State.DONE:
            self.notify(f"{verb} {transfer.file_name}", title="Done", timeout=5)
        else:
            self.notify(
                f"{transfer.file_name}: {transfer.error}",
                title="Failed",
                severity="error",
                timeout=12,
            )

    # -- control of transfers ----------------------------------------------------------------

    def view(self, transfer_id: str) -> TransferView | None:
        return self.live.views.get(transfer_id)

    def _elsewhere(self, transfer_id: str) -> bool:
        """Whether another process (a batch run) is moving the transfer; says so if it is."""
        if self.engine.is_running(transfer_id):
            return False
        if not TransferLock.held(self.settings.lock_dir, transfer_id):
            return False
        self.notify("Another score-tui process is moving this transfer.", timeout=4)
        return True

    def toggle_pause(self, transfer_id: str) -> None:
        view = self.view(transfer_id)
        if view is None or self._elsewhere(transfer_id):
            return
        state = view.transfer.state
        if self.engine.is_running(transfer_id):
            self.engine.pause(transfer_id)
        elif state in (State.PAUSED, State.FAILED, State.QUEUED):
            self.engine.resume(transfer_id)
        else:
            self.notify(f"{view.transfer.file_name} is {state}.", timeout=3)

    def toggle_pause_all(self) -> None:
        running = [v for v in self.live.views.values() if self.engine.is_running(v.id)]
        if running:
            self.engine.pause_all()
            self.notify(f"Paused {len(running)} transfers.", timeout=3)
            return
        waiting = [
            v
            for v in self.live.views.values()
            if (
                v.transfer.state == State.PAUSED
                or (v.transfer.state == State.QUEUED and v.id not in self._foreign)
            )
            and not TransferLock.held(self.settings.lock_dir, v.id)
        ]
        for view in waiting:
            self.engine.start(view.id)
        self.notify(f"Resumed {len(waiting)} transfers.", timeout=3)

    def cancel(self, transfer_id: str) -> None:
        view = self.view(transfer_id)
        if view is None or self._elsewhere(transfer_id):
            return
        if view.transfer.state not in (State.DONE, State.CANCELLED):
            self.engine.cancel(transfer_id)

    def retry_failed(self) -> None:
        failed = [v for v in self.live.views.values() if v.transfer.state == State.FAILED]
        for view in failed:
            self.engine.start(view.id)
        self.notify(
            f"Retrying {len(failed)} failed transfers." if failed else "Nothing has failed.",
            timeout=3,
        )

    # -- adding transfers --------------------------------------------------------------------

    @work(group="add", exit_on_error=False)
    async def add_downloads(self, request: DownloadRequest) -> None:
        try:
            outcomes, transfers = await plan_download(request, self.workspace)
        except Exception as exc:  # a bad manifest, Song refusing, the network: say it, go on
            self._refused("Cannot download", exc)
            return
        self._report(outcomes, transfers, "download")

    @work(group="add", exit_on_error=False)
    async def add_uploads(self, request: UploadRequest) -> None:
        try:
            outcomes, transfers, registration = await plan_upload(request, self.workspace)
        except Exception as exc:
            self._refused("Cannot upload", exc)
            return
        self._report(outcomes, transfers, "upload")
        if registration is not None:
            await self._publish_when_done(registration, transfers)

    def _refused(self, title: str, error: Exception) -> None:
        known = isinstance(error, ScoreTuiError | OSError | ValueError)
        if not known:
            log.exception("adding transfers failed", exc_info=error)
        message = str(error) if known else f"unexpected error: {error!r} (see the log)"
        self.notify(message, title=title, severity="error", timeout=12)

    def _report(self, refused: list[Outcome], transfers: list[Transfer], what: str) -> None:
        for outcome in refused:
            if outcome.state == "failed":
                self.notify(
                    f"{outcome.file}: {outcome.error}",
                    title="Refused",
                    severity="error",
                    timeout=12,
                )
        for transfer in transfers:
            self.engine.start(transfer.id)
        if transfers:
            self.notify(f"Queued {len(transfers)} {what}s.", timeout=3)

    async def _publish_when_done(
        self, registration: Registration, transfers: list[Transfer]
    ) -> None:
        await self.engine.wait([t.id for t in transfers])
        outcomes = [Outcome.of(t) for t in transfers]
        if any(t.state in (State.PAUSED, State.QUEUED) for t in transfers):
            self.notify(
                f"Analysis {registration.analysis_id} is not published: its uploads were paused.",
                severity="warning",
            )
            return
        await registration.finish(outcomes, self.workspace)
        for outcome in outcomes:
            if outcome.direction == "publish" and outcome.state == "failed":
                self.notify(outcome.error or "", title="Not published", severity="error")

    # -- screens and commands ----------------------------------------------------------------

    def action_help(self) -> None:
        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen())

    def action_settings(self) -> None:
        from score_tui.screens.settings import SettingsScreen

        if not isinstance(self.screen, SettingsScreen):
            self.push_screen(SettingsScreen())

    def open_details(self, transfer_id: str) -> None:
        if transfer_id in self.live.views:
            self.push_screen(TransferDetailScreen(transfer_id))

    def get_system_commands(self, screen: Screen[Any]) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        queue = next((s for s in self.screen_stack if isinstance(s, QueueScreen)), None)
        if queue is None:
            return
        yield SystemCommand("Add download", "Download objects (a)", queue.action_add_download)
        yield SystemCommand("Add upload", "Upload files (u)", queue.action_add_upload)
        yield SystemCommand(
            "Pause or resume", "The selected transfer (p)", queue.action_toggle_pause
        )
        yield SystemCommand("Pause or resume all", "Every transfer (P)", queue.action_pause_all)
        yield SystemCommand("Cancel transfer", "The selected transfer (x)", queue.action_cancel)
        yield SystemCommand("Retry failed", "Every failed transfer (r)", queue.action_retry)
        yield SystemCommand("Transfer details", "Parts of the selected transfer (Enter)",
                            queue.action_details)  # fmt: skip
        yield SystemCommand("Filter", "Show matching transfers only (/)", queue.action_filter)
        yield SystemCommand("Slice reads", "Reads of a BAM/CRAM in regions (v)", queue.action_slice)
        yield SystemCommand("Settings and login", "Broker, token, limits (s)",
                            self.action_settings)  # fmt: skip
        yield SystemCommand("Help", "Keys and what they do (F1, ?)", self.action_help)
