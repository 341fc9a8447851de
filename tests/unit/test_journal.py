"""The journal's file format over versions, and the lock that keeps two processes apart."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from score_tui.engine.journal import SCHEMA, Journal
from score_tui.engine.locks import TransferBusy, TransferLock
from score_tui.engine.model import Direction, State


def test_a_journal_from_an_earlier_version_is_upgraded_in_place(tmp_path: Path) -> None:
    path = tmp_path / "journal.sqlite"
    old_schema = SCHEMA.replace("    md5_declared INTEGER NOT NULL DEFAULT 0,\n", "").replace(
        "    source_stamp TEXT,\n", ""
    )
    assert "source_stamp" not in old_schema
    db = sqlite3.connect(path)
    db.executescript(old_schema)
    db.execute(
        "INSERT INTO transfers (id, direction, object_id, server_url, path, file_name, size, "
        'md5, "offset", length, force, validate, state, created, updated) '
        "VALUES ('t1', 'upload', 'o1', 'http://b', '/data/a.bam', 'a.bam', 10, NULL, 0, -1, "
        "0, 1, 'paused', 1, 1)"
    )
    db.commit()
    db.close()

    journal = Journal(path)
    (transfer,) = journal.transfers()
    assert (transfer.id, transfer.direction, transfer.state) == (
        "t1",
        Direction.UPLOAD,
        State.PAUSED,
    )
    assert transfer.source_stamp is None
    assert not transfer.md5_declared
    journal.close()


def test_one_process_at_a_time_works_on_a_transfer(tmp_path: Path) -> None:
    first = TransferLock(tmp_path, "t1")
    first.acquire()
    assert TransferLock.held(tmp_path, "t1")
    with pytest.raises(TransferBusy, match="being worked on by process"):
        TransferLock(tmp_path, "t1").acquire()
    first.release()
    assert not TransferLock.held(tmp_path, "t1")
    second = TransferLock(tmp_path, "t1")
    second.acquire()
    second.release()
