"""The local store's data plane: what it demands of a part PUT and a ranged GET."""

from __future__ import annotations

import http.client
import os
import stat
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest

from score_broker.storage.local import LocalStore
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


def raw_get(url: str, path: str) -> tuple[int, bytes]:
    """A GET of `path` exactly as written (no client-side normalisation of '..')."""
    parts = urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
    connection.request("GET", path)
    response = connection.getresponse()
    body = response.read()
    connection.close()
    return response.status, body


@pytest.mark.parametrize("key", ["../secret", "data/../../secret", "..", "data/./x", "/secret"])
def test_signed_keys_outside_the_store_reach_nothing(
    local_broker: BrokerProcess, tmp_path: Path, key: str
) -> None:
    store = tmp_path / "store"
    secret = (store / "secret").read_text()
    signer = LocalStore(store, local_broker.url)
    url = signer.sign_get(key, 60, None)
    parts = urlsplit(url)
    status, body = raw_get(url, f"{parts.path}?{parts.query}")
    assert status == 404
    assert secret.encode() not in body


def test_unsigned_fields_and_odd_signatures_are_refused(local_broker: BrokerProcess) -> None:
    ping = httpx.get(f"{local_broker.url}/download/ping").text
    assert httpx.get(ping).status_code == 200
    assert httpx.get(ping + "&range=").status_code == 403
    assert httpx.get(ping + "&range=0-1").status_code == 403
    odd = ping.replace("Signature=", "Signature=%C3%A9")
    assert httpx.get(odd).status_code == 403


def test_concurrent_finalizes_publish_once(local_client: ScoreClient, object_id: str) -> None:
    content = os.urandom(30 * 1024 * 1024)
    spec = local_client.initiate(object_id, content)
    local_client.upload_parts(object_id, spec, content, spec["parts"])

    def finalize() -> int:
        with httpx.Client(base_url=local_client.server_url, timeout=120) as client:
            params = {"uploadId": spec["uploadId"]}
            return client.post(f"/upload/{object_id}", params=params).status_code

    with ThreadPoolExecutor(3) as pool:
        statuses = list(pool.map(lambda _: finalize(), range(3)))
    assert set(statuses) <= {200, 503}
    assert 200 in statuses
    assert finalize() == 200  # what score-client's retry of a 503 gets
    assert (
        local_client.data.get(
            local_client.check(
                local_client.service.get(
                    f"/download/{object_id}", params={"offset": 0, "length": -1}
                )
            ).json()["parts"][1]["url"]
        ).content
        == content[20 * 1024 * 1024 :]
    )


def test_a_part_put_racing_finalize_never_changes_what_is_published(
    local_client: ScoreClient, object_id: str, tmp_path: Path
) -> None:
    content = os.urandom(40 * 1024 * 1024)
    spec = local_client.initiate(object_id, content)
    local_client.upload_parts(object_id, spec, content, spec["parts"])
    zeros = memoryview(bytes(20 * 1024 * 1024))

    with ThreadPoolExecutor(2) as pool:
        late_put = pool.submit(put_part, local_client.data, spec["parts"][0]["url"], zeros)
        finalize = pool.submit(
            local_client.service.post,
            f"/upload/{object_id}",
            params={"uploadId": spec["uploadId"]},
        )
        put_status, finalize_status = late_put.result().status_code, finalize.result().status_code

    assert put_status in (200, 404, 409, 503)
    assert finalize_status in (200, 400, 503)
    if finalize_status != 200:  # the PUT won: the part is uploaded again, as a client would
        local_client.upload_parts(object_id, spec, content, spec["parts"][:1])
        local_client.finalize(object_id, spec["uploadId"])
    destination = tmp_path / "downloaded"
    download = local_client.download(object_id, destination)  # checks sourceMd5s and objectMd5
    assert download["objectMd5"] == md5_hex(content)
    assert destination.read_bytes() == content


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
