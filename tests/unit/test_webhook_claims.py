"""Which outbox messages a delivery loop claims, at given moments: two loops (replicas or
workers) on one database never send one webhook's messages out of order or twice."""

from __future__ import annotations

from pathlib import Path

import pytest

from score_broker.database.connection import SqliteDatabase
from score_broker.database.migrations import SONG, upgrade
from score_broker.song.webhooks import BATCH, Deliveries

A, B = "http://a.example/hook", "http://b.example/hook"
NOW = 1_000_000.0


@pytest.fixture
def database(tmp_path: Path) -> SqliteDatabase:
    db = SqliteDatabase(tmp_path / "song.sqlite")
    upgrade(db, (SONG,))
    return db


def write(db: SqliteDatabase, url: str, count: int) -> None:
    with db.transaction() as tx:
        tx.executemany(
            "INSERT INTO song_delivery (url, analysis_id, message, created, next_attempt) "
            "VALUES (?, ?, ?, ?, ?)",
            [(url, f"an-{i}", f'{{"n": {i}}}', NOW, NOW) for i in range(count)],
        )


def ids(runs: list[list[object]]) -> list[list[int]]:
    return [[d.id for d in run] for run in runs]  # type: ignore[attr-defined]


def test_a_claimed_message_holds_back_the_later_ones_for_other_loops(
    database: SqliteDatabase,
) -> None:
    write(database, A, 3)
    first, second = Deliveries(database, [A]), Deliveries(database, [A])
    (run,) = first.claim(NOW)
    assert [d.id for d in run] == [1, 2, 3]
    write(database, A, 2)  # written while the first loop sends
    assert second.claim(NOW + 1) == []
    first.delivered(run[0], run[1:])
    assert second.claim(NOW + 2) == []


def test_a_claim_renewed_by_each_delivery_outlasts_a_long_run(database: SqliteDatabase) -> None:
    write(database, A, 3)
    first, second = Deliveries(database, [A], timeout=10), Deliveries(database, [A], timeout=10)
    (run,) = first.claim(NOW)
    lapse = first.claim_seconds
    first.delivered(run[0], run[1:])  # renewed from the clock now, after NOW
    assert second.claim(NOW + lapse + 0.5) == []


def test_a_lapsed_claim_goes_to_another_loop_from_the_first_undelivered(
    database: SqliteDatabase,
) -> None:
    write(database, A, 3)
    first, second = Deliveries(database, [A]), Deliveries(database, [A])
    (run,) = first.claim(NOW)
    with database.transaction() as tx:  # the first loop died after its first delivery
        tx.execute("DELETE FROM song_delivery WHERE id = ?", (run[0].id,))
    assert ids(second.claim(NOW + first.claim_seconds + 1)) == [[2, 3]]


def test_a_webhook_with_a_backlog_holds_back_no_other(database: SqliteDatabase) -> None:
    write(database, A, 3 * BATCH)
    write(database, B, 2)
    runs = Deliveries(database, [A, B]).claim(NOW)
    assert [len(run) for run in runs] == [BATCH, 2]
    assert {run[0].url for run in runs} == {A, B}


def test_a_failed_message_holds_back_its_webhook_only(database: SqliteDatabase) -> None:
    write(database, A, 2)
    write(database, B, 1)
    loop = Deliveries(database, [A, B])
    run_a, run_b = loop.claim(NOW)
    loop.failed(run_a[0], run_a[1:], "HTTP 503")
    loop.delivered(run_b[0])
    write(database, B, 1)
    assert [[d.url for d in run] for run in loop.claim(NOW + 0.5)] == [[B]]


def test_messages_for_a_removed_webhook_are_dropped(database: SqliteDatabase) -> None:
    write(database, A, 2)
    write(database, B, 1)
    assert ids(Deliveries(database, [B]).claim(NOW)) == [[3]]
    assert database.query("SELECT COUNT(*) FROM song_delivery WHERE url = ?", (A,))[0][0] == 0
