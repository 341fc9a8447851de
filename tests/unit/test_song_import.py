"""The importer on an embedded Song's database: all of an analysis or nothing of it."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

from score_broker.config import DatabaseSettings
from score_broker.database.migrations import SONG
from score_broker.database.opening import open_databases
from score_broker.song import export
from score_broker.song.database import seed_analysis_types
from score_broker.song.importer import CONFLICTING, FAILED, IMPORTED, StudyImport
from score_broker.song.service import SongService
from score_broker.song.storage_check import HttpCheck
from tests.support.song import payload


def _song(tmp_path: Path) -> SongService:
    database = open_databases(DatabaseSettings(), tmp_path, (SONG,))[SONG]
    seed_analysis_types(database)
    song = SongService(database, HttpCheck("http://127.0.0.1:9", ""))
    song.create_study("S", json.dumps({"studyId": "S"}).encode())
    return song


def _no_types(name: str, version: int) -> dict[str, Any] | None:
    return None


def _copy_of(song: SongService, analysis_id: str, new_id: str) -> dict[str, Any]:
    """Another Song's read of an analysis like this one, under `new_id`."""
    read = song.get_analysis("S", analysis_id)
    return {**read, "analysisId": new_id, "analysisState": "PUBLISHED"}


def test_an_analysis_whose_object_id_is_taken_leaves_nothing_behind(tmp_path: Path) -> None:
    song = _song(tmp_path)
    body = payload("S", {"a.vcf": (b"x" * 10, "open")})
    here = song.submit("S", json.dumps(body).encode(), allow_duplicates=False)["analysisId"]
    incoming = _copy_of(song, here, str(uuid.uuid4()))  # its file keeps the object id here

    outcome = StudyImport(song, _no_types).analysis(incoming, export.payload_of(incoming))

    assert outcome.kind == CONFLICTING
    assert here in outcome.detail
    assert song.find_analysis(incoming["analysisId"]) is None
    history = song.db.query(
        "SELECT * FROM analysis_state_change WHERE analysis_id = ?", (incoming["analysisId"],)
    )
    assert history == []


def test_the_same_bytes_as_a_registered_file_do_not_block_an_import(tmp_path: Path) -> None:
    song = _song(tmp_path)
    body = payload("S", {"a.vcf": (b"x" * 10, "open")})
    here = song.submit("S", json.dumps(body).encode(), allow_duplicates=False)["analysisId"]
    new_id = str(uuid.uuid4())
    incoming = _copy_of(song, here, new_id)
    incoming["files"] = [
        {**f, "objectId": str(uuid.uuid5(uuid.NAMESPACE_OID, f"{new_id}:{f['fileName']}"))}
        for f in incoming["files"]
    ]

    outcome = StudyImport(song, _no_types).analysis(incoming, export.payload_of(incoming))

    assert outcome.kind == IMPORTED, outcome.detail
    imported = song.get_analysis("S", new_id)
    assert imported["analysisState"] == "PUBLISHED"
    assert imported["publishedAt"] is not None  # a state needs a history entry
    assert imported["files"][0]["fileMd5sum"] == incoming["files"][0]["fileMd5sum"]


def test_an_analysis_type_missing_on_both_sides_fails_that_analysis(tmp_path: Path) -> None:
    song = _song(tmp_path)
    body = payload("S", {"a.vcf": (b"y" * 10, "open")})
    here = song.submit("S", json.dumps(body).encode(), allow_duplicates=False)["analysisId"]
    incoming = _copy_of(song, here, str(uuid.uuid4()))
    exported = {**export.payload_of(incoming), "analysisType": {"name": "nowhere", "version": 1}}

    outcome = StudyImport(song, _no_types).analysis(incoming, exported)

    assert outcome.kind == FAILED
    assert "nowhere version 1 is neither here nor at the source" in outcome.detail
    assert song.find_analysis(incoming["analysisId"]) is None
