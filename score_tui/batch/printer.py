"""Progress on stderr: a rich bar per file and one overall on a terminal, plain lines otherwise."""

from __future__ import annotations

import time

from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)

from score_tui.engine.events import (
    Event,
    PartChanged,
    PartProgress,
    TransferChanged,
    TransferQueued,
    TransferStarted,
)
from score_tui.engine.model import Md5State, PartState, State, Transfer
from score_tui.units import human_size


class BatchPrinter:
    """An engine subscriber that shows progress and one line per finished or failed file."""

    def __init__(self, console: Console, quiet: bool = False) -> None:
        self.console = console
        self.quiet = quiet
        self.retries = 0
        self._started: dict[str, float] = {}
        self._tasks: dict[str, TaskID] = {}
        live = console.is_terminal and not quiet
        self.progress = Progress(
            TextColumn("{task.description}", style="bold"),
            BarColumn(),
            TextColumn("{task.percentage:>5.1f}%"),
            DownloadColumn(),
            TransferSpeedColumn(),
            TimeRemainingColumn(),
            console=console,
            disable=not live,
            transient=False,
        )
        self._overall = self.progress.add_task("overall", total=0)

    def __enter__(self) -> BatchPrinter:
        self.progress.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.progress.stop()

    def __call__(self, event: Event) -> None:
        if isinstance(event, TransferQueued):
            self._task(event.transfer)
        elif isinstance(event, TransferStarted):
            self._on_started(event)
        elif isinstance(event, PartProgress):
            task = self._tasks.get(event.transfer_id)
            if task is not None:
                self.progress.advance(task, event.delta)
                self.progress.advance(self._overall, event.delta)
        elif isinstance(event, PartChanged) and event.state == PartState.FAILED:
            self.retries += 1
        elif isinstance(event, TransferChanged):
            self._on_changed(event.transfer, event.state)

    def _task(self, transfer: Transfer) -> TaskID:
        if transfer.id not in self._tasks:
            arrow = "↑" if transfer.direction == "upload" else "↓"
            self._tasks[transfer.id] = self.progress.add_task(
                f"{arrow} {transfer.file_name}", total=transfer.size or None
            )
        return self._tasks[transfer.id]

    def _on_started(self, event: TransferStarted) -> None:
        transfer = event.transfer
        task = self._task(transfer)
        done = sum(p.size for p in event.parts if p.done)
        previous = self.progress.tasks[task]
        self.progress.update(self._overall, total=self._overall_total(transfer, previous.total))
        self.progress.advance(self._overall, done - previous.completed)
        self.progress.update(task, total=transfer.size, completed=done)
        self._started.setdefault(transfer.id, time.monotonic())

    def _overall_total(self, transfer: Transfer, previous: float | None) -> float:
        overall = self.progress.tasks[self._overall].total or 0
        return overall - (previous or 0) + transfer.size

    def _on_changed(self, transfer: Transfer, state: State) -> None:
        if self.quiet:
            return
        if state == State.DONE:
            seconds = time.monotonic() - self._started.get(transfer.id, time.monotonic())
            rate = f", {human_size(transfer.size / seconds)}/s" if seconds > 0.01 else ""
            verb = "uploaded" if transfer.direction == "upload" else "downloaded"
            unchecked = (
                f"; whole-file MD5 not checked: {transfer.md5_note}"
                if transfer.md5_check == Md5State.SKIPPED
                else ""
            )
            self.console.print(
                f"[green]✓[/] {verb} {transfer.file_name} "
                f"({human_size(transfer.size)}{rate}{unchecked})",
                highlight=False,
            )
        elif state == State.FAILED:
            self.console.print(
                f"[red]✗[/] {transfer.file_name}: {transfer.error}", highlight=False, soft_wrap=True
            )
        elif state == State.CANCELLED:
            self.console.print(f"[yellow]-[/] {transfer.file_name}: cancelled", highlight=False)
