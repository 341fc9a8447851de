"""The embedded Song refuses what it could not store or serve back, and reads never fail.

One broker (local store, embedded Song, development mode) with the default [limits] serves the
module; a submission it refuses must leave nothing behind, and whatever an older database holds
must still be readable.
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.broker import BrokerProcess
from tests.support.score_client import ScoreClient
from tests.support.song import SongClient, assert_song_error, payload, register

STUDY = "LIMITS"


@pytest.fixture(scope="module")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BrokerProcess]:
    work = tmp_path_factory.mktemp("song-limits")
    config = {
        "server": {"data_directory": str(work / "data")},
        "storage": {"backend": "local", "local": {"directory": str(work / "store")}},
        "song": {"url": "embedded"},
        "auth": {"enabled": False},
    }
    broker = BrokerProcess(config, work).start()
    yield broker
    broker.stop()


@pytest.fixture(scope="module")
def song(broker: BrokerProcess) -> Iterator[SongClient]:
    client = SongClient(f"{broker.url}/song")
    assert client.create_study(STUDY).status_code == 200
    yield client
    client.close()


def post_json(song: SongClient, path: str, body: Any) -> httpx.Response:
    """POST `body` as JSON with lone surrogates kept as `\\ud800` escapes, as Java clients can."""
    return song.http.post(path, content=json.dumps(body).encode(), params={"allowDuplicates": True})


def submission(**changes: Any) -> dict[str, Any]:
    body = payload(STUDY, {"f.vcf": (os.urandom(20), "open")})
    for path, value in changes.items():
        target = body
        *parents, last = path.split("__")
        for key in parents:
            target = target[int(key)] if key.isdigit() else target[key]
        target[last] = value
    return body


def analyses(song: SongClient) -> list[dict[str, Any]]:
    response = song.http.get(f"/studies/{STUDY}/analysis", params={"analysisStates": "UNPUBLISHED"})
    assert response.status_code == 200, response.text
    return response.json()


def nested(levels: int) -> dict[str, Any]:
    value: dict[str, Any] = {}
    for _ in range(levels - 1):
        value = {"a": value}
    return value


def assert_refused(response: httpx.Response, status: int, error_id: str, mentions: str) -> None:
    assert_song_error(response, status, error_id)
    message = response.json()["message"]
    assert mentions in message
    assert len(message) < 400, message


@pytest.mark.parametrize("size", [-(10**19), 10**19, 2**63, -(2**63) - 1])
def test_file_sizes_beyond_64_bits_are_refused(song: SongClient, size: int) -> None:
    before = analyses(song)
    response = post_json(song, f"/submit/{STUDY}", submission(files__0__fileSize=size))
    assert_refused(response, 400, "schema.violation", "files/0/fileSize")
    assert analyses(song) == before


def test_integers_anywhere_must_fit_64_bits(song: SongClient) -> None:
    response = post_json(song, f"/submit/{STUDY}", submission(info={"n": 10**30}))
    assert_refused(response, 400, "schema.violation", "info/n")


def test_deep_nesting_is_refused(song: SongClient) -> None:
    before = analyses(song)
    brackets = song.http.post(f"/submit/{STUDY}", content=b"[" * 100_000)
    assert_refused(brackets, 400, "schema.violation", "max_json_depth")
    deep = post_json(song, f"/submit/{STUDY}", submission(info=nested(300)))
    assert_refused(deep, 400, "schema.violation", "info/a/a")
    study = song.http.post("/studies/DEEP/", content=b'{"studyId":"DEEP","info":' * 5000)
    assert_refused(study, 400, "schema.violation", "max_json_depth")
    assert analyses(song) == before
    within = post_json(song, f"/submit/{STUDY}", submission(info=nested(60)))
    assert within.status_code == 200, within.text
    analysis_id = within.json()["analysisId"]
    assert song.analysis(STUDY, analysis_id).json()["info"] == nested(60)


@pytest.mark.parametrize(
    "where", ["samples__0__sampleType", "files__0__dataType", "experiment__variantCallingTool"]
)
def test_lone_surrogates_in_a_submission_are_refused(song: SongClient, where: str) -> None:
    before = analyses(song)
    response = post_json(song, f"/submit/{STUDY}", submission(**{where: "x\ud800y"}))
    assert_refused(response, 400, "schema.violation", "\\ud800")
    assert analyses(song) == before


def test_lone_surrogates_in_a_study_are_refused(song: SongClient) -> None:
    named = post_json(song, "/studies/SURR/", {"studyId": "SURR", "name": "\udfff"})
    assert_refused(named, 400, "schema.violation", "name")
    as_id = post_json(song, "/studies/SURR/", {"studyId": "\ud800"})
    assert_refused(as_id, 400, "schema.violation", "studyId")
    assert_song_error(song.http.get("/studies/SURR"), 404, "study.id.does.not.exist")
    paired = post_json(song, "/studies/EMOJI/", {"studyId": "EMOJI", "name": "\U0001f600"})
    assert paired.status_code == 200, paired.text
    assert song.http.get("/studies/EMOJI").json()["name"] == "\U0001f600"


def test_long_texts_are_refused_and_not_echoed(song: SongClient) -> None:
    long_name = "n" * 70_000
    response = post_json(song, f"/submit/{STUDY}", submission(files__0__fileName=long_name))
    assert_refused(response, 400, "schema.violation", "max_string_length")
    bad_name = "bad name " * 1000
    response = post_json(song, f"/submit/{STUDY}", submission(files__0__fileName=bad_name))
    assert_refused(response, 400, "schema.violation", "does not match")
    mismatch = post_json(song, f"/submit/{STUDY}", submission(studyId="S" * 5000))
    assert_refused(mismatch, 409, "study.id.mismatch", "SSS…")


def test_many_bad_files_are_refused_at_once(song: SongClient) -> None:
    files = [{"fileName": "bad name", "fileSize": "big", "fileMd5sum": "x"}] * 120_000
    body = json.dumps(submission(files=files)).encode()
    assert len(body) > 7_000_000
    started = time.monotonic()
    response = song.http.post(f"/submit/{STUDY}", content=body)
    assert time.monotonic() - started < 5
    assert_refused(response, 400, "schema.violation", "max_files_per_analysis")
    within = json.dumps(submission(files=files[:10_000])).encode()
    response = song.http.post(f"/submit/{STUDY}", content=within)
    assert_song_error(response, 400, "schema.violation")
    assert response.json()["message"].count("files/") == 10  # the first problems only


def test_song_stays_alive_while_a_large_submission_is_checked(song: SongClient) -> None:
    files = [
        {"fileName": f"f{i}.vcf", "fileSize": i, "fileMd5sum": uuid.uuid4().hex,
         "fileAccess": "open", "fileType": "VCF", "dataType": "d", "info": {"i": [i] * 20}}
        for i in range(10_000)
    ]  # fmt: skip
    body = json.dumps(submission(files=files)).encode()
    answer: dict[str, httpx.Response] = {}

    def submit() -> None:
        with httpx.Client(timeout=120) as other:
            answer["submit"] = other.post(f"{song.base_url}/submit/{STUDY}", content=body)

    worker = threading.Thread(target=submit)
    worker.start()
    latencies: list[float] = []
    while worker.is_alive():
        started = time.monotonic()
        assert song.http.get("/isAlive").json() is True
        latencies.append(time.monotonic() - started)
    worker.join()
    assert answer["submit"].status_code == 200, answer["submit"].text
    assert max(latencies) < 1.0, latencies


def insert_bad_analysis(data_directory: Path, study: str) -> str:
    """An analysis as an older broker could have stored it: lone surrogates, NaN, deep nesting."""
    analysis_id = str(uuid.uuid4())
    deep = '{"a":' * 600 + "1" + "}" * 600
    too_deep = '{"a":' * 3000 + "1" + "}" * 3000
    data = (
        '{"analysisType":{"name":"variantCall","version":1},'
        '"samples":[{"sampleType":"\\ud800","submitterSampleId":"s"}],'
        f'"experiment":{{"tool":"\\udfff","score":NaN,"big":1e400}},"deep":{deep}}}'
    )
    with sqlite3.connect(data_directory / "song.sqlite") as db:
        db.execute(
            "INSERT INTO analysis (id, study_id, state, schema_id, data, created_at, updated_at) "
            "VALUES (?, ?, 'UNPUBLISHED', 1, ?, '2020-01-01T00:00:00', '2020-01-01T00:00:00')",
            (analysis_id, study, data),
        )
        db.execute(
            "INSERT INTO file (id, analysis_id, study_id, name, size, md5, type, access, "
            "data_type, info, position) VALUES (?, ?, ?, 'old.vcf', 1, ?, 'VCF', 'open', 'd', ?, "
            "0)",
            (str(uuid.uuid4()), analysis_id, study, uuid.uuid4().hex, too_deep),
        )
    return analysis_id


def test_reads_never_fail_on_values_an_older_broker_stored(
    broker: BrokerProcess, song: SongClient
) -> None:
    analysis_id = insert_bad_analysis(Path(broker.config["server"]["data_directory"]), STUDY)
    read = song.analysis(STUDY, analysis_id)
    assert read.status_code == 200, read.text
    analysis = read.json()
    assert analysis["samples"][0]["sampleType"] == "\ud800"
    assert analysis["experiment"] == {"tool": "\udfff", "score": None, "big": None}
    assert "info" not in analysis["files"][0]
    listed = [a["analysisId"] for a in analyses(song)]
    assert analysis_id in listed
    paginated = song.http.get(
        f"/studies/{STUDY}/analysis/paginated", params={"analysisStates": "UNPUBLISHED"}
    )
    assert paginated.status_code == 200
    files = song.http.get(f"/studies/{STUDY}/analysis/{analysis_id}/files")
    assert files.status_code == 200
    object_id = files.json()[0]["objectId"]
    assert song.http.get(f"/studies/{STUDY}/files/{object_id}").status_code == 200


SMALL_BODY = 64 * 1024


@pytest.fixture(scope="module")
def small_broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BrokerProcess]:
    """A broker that reads JSON bodies of at most 64 KiB."""
    work = tmp_path_factory.mktemp("small-bodies")
    config = {
        "server": {"data_directory": str(work / "data")},
        "limits": {"max_body_bytes": SMALL_BODY},
        "storage": {"backend": "local", "local": {"directory": str(work / "store")}},
        "song": {"url": "embedded"},
        "auth": {"enabled": False},
    }
    broker = BrokerProcess(config, work).start()
    yield broker
    broker.stop()


def padded(size: int) -> bytes:
    """A valid submission of about `size` bytes."""
    body = payload(STUDY, {"p.vcf": (os.urandom(20), "open")})
    body["info"] = {"padding": ""}
    body["info"]["padding"] = "x" * (size - len(json.dumps(body)))
    return json.dumps(body).encode()


def chunks(body: bytes) -> Iterator[bytes]:
    for start in range(0, len(body), 4096):
        yield body[start : start + 4096]


def test_bodies_over_the_limit_are_refused_with_413(small_broker: BrokerProcess) -> None:
    song = SongClient(f"{small_broker.url}/song")
    song.create_study(STUDY)
    declared = song.http.post(f"/submit/{STUDY}", content=padded(SMALL_BODY + 1))
    assert_refused(declared, 413, "payload.too.large", "max_body_bytes")
    streamed = song.http.post(f"/submit/{STUDY}", content=chunks(padded(SMALL_BODY * 4)))
    assert "content-length" not in streamed.request.headers
    assert_refused(streamed, 413, "payload.too.large", "max_body_bytes")
    study = song.http.post("/studies/BIG/", content=chunks(b" " * SMALL_BODY + b"{}"))
    assert_refused(study, 413, "payload.too.large", "max_body_bytes")
    assert song.http.get("/studies/BIG").status_code == 404
    assert analyses(song) == []
    within = song.http.post(f"/submit/{STUDY}", content=chunks(padded(SMALL_BODY - 100)))
    assert within.status_code == 200, within.text
    score = httpx.post(f"{small_broker.url}/upload/x/uploads", content=b"x" * (SMALL_BODY + 1))
    assert score.status_code == 413
    assert "max_body_bytes" in score.json()["message"]
    song.close()


def test_part_bodies_are_not_limited(small_broker: BrokerProcess) -> None:
    content = os.urandom(SMALL_BODY * 4)
    ids = register(f"{small_broker.url}/song", "PARTS", {"big.bam": (content, "open")})
    with ScoreClient(small_broker.url) as client:
        client.upload(ids["big.bam"], content)
        assert client.service.get(f"/upload/{ids['big.bam']}").text == "true"
