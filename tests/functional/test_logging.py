"""The broker's logs as an operator reads them: JSON lines ([server] log_format = "json") or the
text access log, each request with the id its response carries in `X-Request-Id`."""

from __future__ import annotations

import json
import os
import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from score_broker.api.access_log import token_hash
from tests.conftest import BrokerFactory
from tests.support.broker import BrokerProcess
from tests.support.score_client import ScoreClient
from tests.support.song import SongClient, object_id, payload
from tests.support.waiting import wait_until

STUDY = "LOGS-CA"
ACCESS_FIELDS = {
    "time", "level", "logger", "message", "request_id", "method", "path", "route", "status",
    "duration_ms", "bytes", "client", "user_agent", "token",
}  # fmt: skip
NEW_ID = re.compile(r"[0-9a-f]{32}")


@dataclass
class Logged:
    broker: BrokerProcess
    admin: str
    open_id: str
    controlled_id: str
    upload_spec: dict[str, Any]

    def records(self) -> list[dict[str, Any]]:
        """Every line the broker wrote, each parsed as JSON (failing on any that is not)."""
        return [json.loads(line) for line in self.broker.log_text().splitlines()]

    def access(self, request_id: str) -> dict[str, Any]:
        """The access record of the request with this id, once written."""
        found: list[dict[str, Any]] = []

        def written() -> bool:
            found[:] = [
                r
                for r in self.records()
                if r["logger"] == "score_broker.access" and r.get("request_id") == request_id
            ]
            return bool(found)

        wait_until(written, f"the access record of request {request_id}")
        assert len(found) == 1
        return found[0]


@pytest.fixture(scope="module")
def logged(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Logged]:
    """A broker logging JSON (local store, embedded Song, API keys), after an upload."""
    work = tmp_path_factory.mktemp("logs")
    config = {
        "server": {"data_directory": str(work / "data"), "log_format": "json"},
        "storage": {"backend": "local", "local": {"directory": str(work / "store")}},
        "song": {"url": "embedded"},
        "auth": {"enabled": True},
    }
    broker = BrokerProcess(config, work).start()
    admin = (work / "data" / "admin-key").read_text().strip()
    song = SongClient(f"{broker.url}/song", admin)
    assert song.create_study(STUDY).status_code == 200
    files = {"o.vcf": (os.urandom(300), "open"), "c.vcf": (os.urandom(400), "controlled")}
    analysis = song.submit(STUDY, payload(STUDY, files)).json()["analysisId"]
    with ScoreClient(broker.url, token=admin) as client:
        specs = [client.upload(object_id(analysis, n), data) for n, (data, _) in files.items()]
    assert song.publish(STUDY, analysis).status_code == 200
    song.close()
    open_id, controlled_id = object_id(analysis, "o.vcf"), object_id(analysis, "c.vcf")
    yield Logged(broker, admin, open_id, controlled_id, specs[0])
    broker.stop()


def test_every_line_is_one_json_object_uvicorn_included(logged: Logged) -> None:
    records = logged.records()
    for record in records:
        assert {"time", "level", "logger", "message"} <= set(record)
        stamp = datetime.fromisoformat(record["time"])
        assert stamp.utcoffset() == timedelta(0)
    loggers = {record["logger"] for record in records}
    assert any(name.startswith("uvicorn") for name in loggers)
    assert {"score_broker", "score_broker.access"} <= loggers


def test_download_url_with_a_token_keeps_the_callers_request_id(logged: Logged) -> None:
    supplied = "proxy-7f3a.2:edge_1"
    response = httpx.get(
        f"{logged.broker.url}/download/{logged.controlled_id}",
        params={"offset": 0, "length": -1},
        headers={"Authorization": f"Bearer {logged.admin}", "X-Request-Id": supplied},
    )
    assert response.status_code == 200, response.text
    assert response.headers["X-Request-Id"] == supplied
    record = logged.access(supplied)
    assert set(record) == ACCESS_FIELDS
    assert record["method"] == "GET"
    assert record["route"] == "/download/{object_id}"
    assert record["path"] == f"/download/{logged.controlled_id}?offset=0&length=-1"
    assert record["status"] == 200
    assert record["bytes"] == len(response.content)
    assert isinstance(record["duration_ms"], float)
    assert record["duration_ms"] >= 0
    assert record["client"] == "127.0.0.1"
    assert record["user_agent"] == response.request.headers["User-Agent"]
    assert record["token"] == token_hash(f"Bearer {logged.admin}")
    assert logged.admin not in logged.broker.log_text()


def test_a_401_gets_a_new_id_in_place_of_an_insane_one(logged: Logged) -> None:
    insane = 'id with spaces"and quotes'
    for supplied in (insane, "x" * 129, ""):
        response = httpx.get(
            f"{logged.broker.url}/download/{logged.controlled_id}",
            params={"offset": 0, "length": -1},
            headers={"X-Request-Id": supplied},
        )
        assert response.status_code == 401, response.text
        request_id = response.headers["X-Request-Id"]
        assert NEW_ID.fullmatch(request_id), request_id
        record = logged.access(request_id)
        assert (record["status"], record["route"], record["token"]) == (
            401,
            "/download/{object_id}",
            None,
        )
    assert insane not in logged.broker.log_text()


def test_a_404_is_logged_as_unmatched(logged: Logged) -> None:
    missing = str(uuid.uuid4())
    response = httpx.get(f"{logged.broker.url}/no/such/{missing}")
    assert response.status_code == 404
    record = logged.access(response.headers["X-Request-Id"])
    assert (record["status"], record["route"]) == (404, "unmatched")
    assert record["path"] == f"/no/such/{missing}"


def test_upload_part_urls_are_logged_by_route_with_signatures_masked(logged: Logged) -> None:
    records = logged.records()
    access = [r for r in records if r["logger"] == "score_broker.access"]
    initiate = [r for r in access if r["route"] == "/upload/{object_id}/uploads"]
    assert len(initiate) == 2
    assert all(r["method"] == "POST" and r["status"] == 200 for r in initiate)
    parts = [r for r in access if r["route"] == "/storage/{key:path}" and r["method"] == "PUT"]
    assert len(parts) == 2
    for record in parts:
        assert record["status"] == 200
        assert "Signature=***" in record["path"]
    part_url = logged.upload_spec["parts"][0]["url"]
    signature = re.search(r"Signature=([^&]+)", part_url)
    assert signature is not None
    assert signature.group(1) not in logged.broker.log_text()
    for record in access:
        assert logged.open_id not in record["route"]
        assert logged.controlled_id not in record["route"]


def test_records_written_during_a_request_carry_its_id(logged: Logged) -> None:
    records = logged.records()
    started = [
        r
        for r in records
        if r["logger"] == "score_broker.services.uploads"
        and logged.open_id in r["message"]
        and "started" in r["message"]
    ]
    assert len(started) == 1
    initiate = logged.access(started[0]["request_id"])
    assert initiate["route"] == "/upload/{object_id}/uploads"
    assert initiate["path"].startswith(f"/upload/{logged.open_id}/uploads?")


def test_streamed_bodies_carry_the_request_id(logged: Logged) -> None:
    spec = httpx.get(
        f"{logged.broker.url}/download/{logged.open_id}", params={"offset": 0, "length": -1}
    ).json()
    with httpx.stream("GET", spec["parts"][0]["url"]) as data:
        assert data.status_code == 206
        data.read()
    request_id = data.headers["X-Request-Id"]
    record = logged.access(request_id)
    assert (record["route"], record["bytes"]) == ("/storage/{key:path}", 300)


def test_text_access_log_is_unchanged_but_for_the_request_id(
    broker_factory: BrokerFactory, tmp_path: Path
) -> None:
    broker = broker_factory({"backend": "local", "local": {"directory": str(tmp_path / "s")}})
    response = httpx.get(
        f"{broker.url}/no/such/path",
        headers={"X-Request-Id": "lb-42", "User-Agent": "portal/1.0"},
    )
    assert response.status_code == 404
    assert response.headers["X-Request-Id"] == "lb-42"
    line = re.compile(
        r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} INFO score_broker\.access: "
        rf'127\.0\.0\.1 "GET /no/such/path" 404 {len(response.content)} \d+\.\dms '
        r'ua="portal/1\.0" token=- rid=lb-42'
    )

    def logged() -> bool:
        return any(line.fullmatch(text) for text in broker.log_text().splitlines())

    wait_until(logged, "the text access line")
    assert not broker.log_text().lstrip().startswith("{")


def test_a_newline_in_the_path_cannot_forge_a_text_log_line(
    broker_factory: BrokerFactory, tmp_path: Path
) -> None:
    broker = broker_factory({"backend": "local", "local": {"directory": str(tmp_path / "s")}})
    forged = '127.0.0.1 "GET /admin" 200 0 0.1ms ua="x" token=- rid=forged'
    response = httpx.get(f"{broker.url}/no%0A{forged.replace(' ', '%20')}")
    assert response.status_code == 404
    rid = response.headers["X-Request-Id"]

    def logged() -> bool:
        return f"rid={rid}" in broker.log_text()

    wait_until(logged, "the text access line")
    lines = broker.log_text().splitlines()
    assert not any(line.startswith(forged[:20]) for line in lines)
    (line,) = [line for line in lines if line.endswith(f"rid={rid}")]
    assert '"GET /no\\x0a127.0.0.1 \\x22GET /admin\\x22 200' in line
