"""The UI's model of the queue: parts from events, speed and ETA, and folding parts into cells."""

from __future__ import annotations

from score_tui.engine.events import PartChanged, PartProgress, TransferChanged, TransferStarted
from score_tui.engine.model import Direction, PartRecord, PartState, State, Transfer
from score_tui.live_queue import LiveQueue, PartView
from score_tui.widgets.part_grid import fold


def transfer() -> Transfer:
    return Transfer(Direction.DOWNLOAD, "id", "http://b", "/x", "x.bam", size=300)


def test_events_drive_parts_bytes_and_finished_transfers() -> None:
    live, t = LiveQueue(), transfer()
    parts = (PartRecord(1, 0, 100, done=True), PartRecord(2, 100, 100), PartRecord(3, 200, 100))
    live(TransferStarted(t, parts))
    view = live.views[t.id]
    assert [p.state for p in view.parts] == [PartState.DONE, PartState.QUEUED, PartState.QUEUED]
    live(PartChanged(t.id, 2, PartState.MOVING))
    live(PartProgress(t.id, 2, 40))
    assert view.parts[1].moved == 40
    live(PartChanged(t.id, 2, PartState.FAILED, "reset by peer"))
    assert (view.parts[1].moved, view.parts[1].reason) == (0, "reset by peer")
    live(PartChanged(t.id, 3, PartState.DONE))
    assert view.parts[2].moved == 100
    t.state = State.DONE
    live(TransferChanged(t, State.DONE))
    assert live.finished == [t]
    assert view.fraction == 1.0


def test_speed_and_eta_over_the_sampled_window() -> None:
    live, t = LiveQueue(), transfer()
    t.size, t.state = 1000, State.RUNNING
    live(TransferStarted(t, (PartRecord(1, 0, 1000),)))
    for second, done in enumerate((0, 100, 200, 300)):
        t.bytes_done = done
        live.tick(now=float(second))
    view = live.views[t.id]
    assert view.speed() == 100.0
    assert view.eta() == 7.0
    t.state = State.PAUSED
    assert view.speed() == 0.0
    assert view.eta() is None


def test_ten_thousand_parts_fold_and_a_failure_stays_visible() -> None:
    parts = [PartView(n, 0, 1, PartState.DONE) for n in range(1, 10_001)]
    parts[4_999].state = PartState.FAILED
    per_cell, cells = fold(parts, 700)
    assert per_cell == 15
    assert len(cells) <= 700
    assert cells.count(PartState.FAILED) == 1
    assert set(cells) == {PartState.DONE, PartState.FAILED}
