"""The local store's data plane: what it demands of a part PUT and a ranged GET."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import BrokerFactory
from tests.support.broker import BrokerProcess
from tests.support.score_client import ScoreClient, md5_hex, put_part


@pytest.fixture
def local_broker(broker_factory: BrokerFactory, tmp_path: Path) -> BrokerProcess:
    return broker_factory({"backend": "local", "local": {"directory": str(tmp_path / "store")}})


@pytest.fixture
def local_client(local_broker: BrokerProcess) -> Iterator[ScoreClient]:
    client = ScoreClient(local_broker.url)
    yield client
    client.close()


def test_the_url_secret_is_private(local_broker: BrokerProcess, tmp_path: Path) -> None:
    secret = tmp_path / "store" / "secret"
    assert stat.S_IMODE(secret.stat().st_mode) == 0o600
    assert len(bytes.fromhex(secret.read_text())) == 32


def test_part_put_needs_the_planned_length(local_client: ScoreClient, object_id: str) -> None:
    content = os.urandom(1000)
    url = local_client.initiate(object_id, content)["parts"][0]["url"]

    def chunks() -> Iterator[bytes]:
        yield content

    chunked = local_client.data.put(url, content=chunks())  # no Content-Length
    assert chunked.status_code == 411
    assert "<Code>MissingContentLength</Code>" in chunked.text
    short = local_client.data.put(url, content=content[:999])
    assert short.status_code == 400
    assert "must be 1000 bytes" in short.text
    assert put_part(local_client.data, url, memoryview(content)).status_code == 200


def test_part_url_serves_only_its_range(local_client: ScoreClient, object_id: str) -> None:
    content = os.urandom(21 * 1024 * 1024)
    local_client.upload(object_id, content)
    spec = local_client.check(
        local_client.service.get(f"/download/{object_id}", params={"offset": 0, "length": -1})
    ).json()
    second = spec["parts"][1]
    start = second["offset"]
    whole = local_client.data.get(second["url"])
    assert whole.status_code == 206
    assert whole.headers["Content-Range"] == f"bytes {start}-{len(content) - 1}/{len(content)}"
    assert whole.content == content[start:]
    inside = local_client.data.get(
        second["url"], headers={"Range": f"bytes={start + 1}-{start + 9}"}
    )
    assert inside.content == content[start + 1 : start + 10]
    outside = local_client.data.get(second["url"], headers={"Range": "bytes=0-9"})
    assert outside.status_code == 403
    head = local_client.data.head(second["url"])
    assert head.status_code == 206
    assert head.headers["Content-Length"] == str(len(content) - start)


@pytest.mark.parametrize(
    "path",
    [
        "/storage/../secret",
        "/storage/..%2Fsecret",
        "/storage/data/..%2F..%2Fsecret",
        "/storage/%2E%2E/%2E%2E/secret",
        "/storage/secret",
    ],
)
def test_path_tricks_reach_nothing(local_broker: BrokerProcess, tmp_path: Path, path: str) -> None:
    secret = (tmp_path / "store" / "secret").read_text()
    response = httpx.get(f"{local_broker.url}{path}?Expires=9999999999&Signature=00")
    assert response.status_code in (403, 404)
    assert secret not in response.text


def test_finalize_refuses_bytes_that_do_not_match_the_declared_md5(
    local_client: ScoreClient, object_id: str
) -> None:
    content = os.urandom(1000)
    params = {"fileSize": 1000, "md5": md5_hex(b"what the user claimed")}
    spec = local_client.check(
        local_client.service.post(f"/upload/{object_id}/uploads", params=params)
    ).json()
    local_client.upload_parts(object_id, spec, content, spec["parts"])
    refused = local_client.service.post(
        f"/upload/{object_id}", params={"uploadId": spec["uploadId"]}
    )
    assert refused.status_code == 400
    assert "MD5" in refused.json()["message"]
    assert local_client.service.get(f"/upload/{object_id}").text == "false"
    missing = local_client.service.get(f"/download/{object_id}", params={"offset": 0, "length": -1})
    assert missing.status_code == 404


def test_access_log_hashes_tokens_and_signatures(
    local_broker: BrokerProcess, object_id: str
) -> None:
    token = "a-very-secret-token-value"
    with ScoreClient(local_broker.url, token=token) as client:
        client.upload(object_id, b"logged")
    log = local_broker.log_text()
    assert f"/upload/{object_id}/uploads" in log
    assert token not in log
    assert "token=" in log
    signature_lines = [line for line in log.splitlines() if "Signature=" in line]
    assert signature_lines
    assert all("Signature=***" in line for line in signature_lines)
