"""The journal's file format over versions, and the lock that keeps two processes apart."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from score_tui.engine.journal import SCHEMA, Journal
from score_tui.engine.locks import TransferBusy, TransferLock
from score_tui.engine.model import Direction, State
from score_tui.engine.registrations import (
    RegisteredFile,
    RegistrationRecord,
    Registrations,
    RegistrationState,
)


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


def test_a_registration_survives_a_kill_right_after_it_is_written(tmp_path: Path) -> None:
    path = tmp_path / "journal.sqlite"
    journal = Journal(path)
    record = RegistrationRecord(
        study="S1", server_url="http://b", metadata_url="http://b/song", publish=True,
        files=[RegisteredFile("a.bam", "/data/a.bam", 10, "0" * 32)],
    )  # fmt: skip
    Registrations(journal).add(record)
    # Another process reads it at once: nothing waits for the journal's next flush.
    other = Registrations(Journal(path))
    (found,) = other.in_study("http://b/song", "S1")
    assert (found.state, found.analysis_id, found.publish) == (
        RegistrationState.SUBMITTING,
        None,
        True,
    )
    assert found.same_files([RegisteredFile("a.bam", "/elsewhere/a.bam", 10, "0" * 32)])
    assert not found.same_files([RegisteredFile("a.bam", "/data/a.bam", 10, "1" * 32)])

    record.analysis_id, record.state = "an-1", RegistrationState.REGISTERED
    record.files[0].object_id = "o1"
    Registrations(journal).save(record)
    (found,) = other.to_publish("http://b", "http://b/song")
    assert (found.analysis_id, found.files[0].object_id) == ("an-1", "o1")
    assert not other.uploaded(found), "its file has not been uploaded"
    assert other.in_study("http://b/song", "S2") == []
    other.journal.close()
    journal.close()


def test_a_journal_without_registrations_gains_them(tmp_path: Path) -> None:
    path = tmp_path / "journal.sqlite"
    old_schema = SCHEMA[: SCHEMA.index("CREATE TABLE IF NOT EXISTS registrations")]
    db = sqlite3.connect(path)
    db.executescript(old_schema)
    db.close()
    journal = Journal(path)
    assert Registrations(journal).in_study("http://b/song", "S1") == []
    journal.close()
