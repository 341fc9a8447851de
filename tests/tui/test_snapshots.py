"""Every screen, as SVG snapshots of the sample queue (see tests/support/sample_queue.py)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from textual.pilot import Pilot

from tests.support.sample_queue import sample_app

SIZE = (120, 36)
Compare = Callable[..., bool]


async def settle(pilot: Pilot[object]) -> None:
    await pilot.pause(0.3)
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()


def test_queue(snap_compare: Compare, sample_home: Path) -> None:
    assert snap_compare(sample_app(sample_home), terminal_size=SIZE, run_before=settle)


def test_transfer_detail(snap_compare: Compare, sample_home: Path) -> None:
    async def open_first(pilot: Pilot[object]) -> None:
        await settle(pilot)
        await pilot.press("enter")
        await pilot.pause()

    assert snap_compare(sample_app(sample_home), terminal_size=SIZE, run_before=open_first)


def test_add_download(snap_compare: Compare, sample_home: Path) -> None:
    assert snap_compare(sample_app(sample_home), press=["a"], terminal_size=SIZE, run_before=settle)


def test_add_upload(snap_compare: Compare, sample_home: Path) -> None:
    assert snap_compare(sample_app(sample_home), press=["u"], terminal_size=SIZE, run_before=settle)


def test_settings(snap_compare: Compare, sample_home: Path) -> None:
    assert snap_compare(sample_app(sample_home), press=["s"], terminal_size=SIZE, run_before=settle)


def test_help(snap_compare: Compare, sample_home: Path) -> None:
    assert snap_compare(
        sample_app(sample_home), press=["f1"], terminal_size=SIZE, run_before=settle
    )


def test_filtered_queue(snap_compare: Compare, sample_home: Path) -> None:
    press = ["slash", *"fastq", "enter"]
    assert snap_compare(sample_app(sample_home), press=press, terminal_size=SIZE, run_before=settle)


def test_offer_of_the_embedded_broker(snap_compare: Compare, sample_home: Path) -> None:
    app = sample_app(sample_home)
    app.offer_embedded = True
    assert snap_compare(app, terminal_size=SIZE, run_before=settle)


def test_slice(snap_compare: Compare, sample_home: Path) -> None:
    assert snap_compare(sample_app(sample_home), press=["v"], terminal_size=SIZE, run_before=settle)
