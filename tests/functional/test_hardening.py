"""Hostile and unlucky input to the broker's Score API and data plane: refused in one line with
a 4xx, never a 500, and nothing stored changes."""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import httpx
import pytest

from score_broker.errors import DataPlaneError
from score_broker.storage.local import LocalStore
from score_broker.storage.local_urls import MAX_POSITION
from tests.conftest import BrokerFactory
from tests.support.broker import BrokerProcess
from tests.support.score_client import ScoreClient, md5_hex

PART = 1024 * 1024


@pytest.fixture
def local_broker(broker_factory: BrokerFactory, tmp_path: Path) -> BrokerProcess:
    storage = {"backend": "local", "part_size": PART, "local": {"directory": str(tmp_path / "s")}}
    return broker_factory(storage)


@pytest.fixture
def client(local_broker: BrokerProcess) -> Iterator[ScoreClient]:
    with ScoreClient(local_broker.url) as score_client:
        yield score_client


def with_query(url: str, **changes: str) -> str:
    parts = urlsplit(url)
    query = dict(parse_qsl(parts.query))
    query.update(changes)
    return urlunsplit(parts._replace(query=urlencode(query)))


def data_error(response: httpx.Response) -> str:
    """The S3 error code of a data-plane refusal."""
    assert response.headers["content-type"].startswith("application/xml"), response.text
    return response.text.split("<Code>")[1].split("</Code>")[0]


def test_expires_that_is_not_ascii_digits_is_403(client: ScoreClient, object_id: str) -> None:
    url = client.initiate(object_id, b"x" * 10)["parts"][0]["url"]
    signature = "ab" * 32
    for expires in ("²", "٣٣", "1" * 5000, "-1", " 1"):
        forged = with_query(url, Expires=expires, Signature=signature)
        for method in ("GET", "PUT", "HEAD"):
            response = client.data.request(method, forged, content=b"x" * 10)
            assert response.status_code == 403, (expires, method, response.text)
    assert data_error(client.data.get(with_query(url, Expires="²", Signature=signature))) == (
        "AccessDenied"
    )


def test_huge_or_foreign_range_is_416(client: ScoreClient, object_id: str) -> None:
    content = os.urandom(1000)
    client.upload(object_id, content)
    spec = client.check(
        client.service.get(f"/download/{object_id}", params={"offset": 0, "length": -1})
    ).json()
    url = spec["parts"][0]["url"]
    for header in (f"bytes={'9' * 5000}-", f"bytes=0-{'9' * 5000}", "bytes=²-", "bytes=0-¹"):
        response = client.data.get(url, headers={"Range": header.encode("latin-1")})
        assert response.status_code == 416, (header, response.text)
        assert data_error(response) == "InvalidRange"
    assert client.data.get(url, headers={"Range": "bytes=0-9"}).content == content[:10]


def test_forged_part_fields_are_refused(client: ScoreClient, object_id: str) -> None:
    url = client.initiate(object_id, b"x" * 10)["parts"][0]["url"]
    for field, value in (("offset", "1"), ("offset", str(2**62)), ("size", "11")):
        response = client.data.put(with_query(url, **{field: value}), content=b"x" * 10)
        assert response.status_code == 403
        assert data_error(response) == "SignatureDoesNotMatch"


def test_out_of_range_fields_in_a_signed_url_are_refused(tmp_path: Path) -> None:
    """Even a URL signed with the store's secret (a leak, or a bug) cannot write far away."""
    store = LocalStore(tmp_path, "http://127.0.0.1:1")
    key = f"data/{uuid.uuid4()}"
    upload_id = store.create_multipart(key)
    for number, offset, size in ((1, MAX_POSITION, 1), (0, 0, 1), (10_001, 0, 1)):
        url = store.sign_upload_part(key, upload_id, number, offset, size, 60)
        params = dict(parse_qsl(urlsplit(url).query))
        with pytest.raises(DataPlaneError) as refused:
            store.verify("PUT", key, params)
        assert refused.value.status == 403


@pytest.mark.parametrize("length", [220, 1000])
def test_overlong_upload_id_is_400(client: ScoreClient, object_id: str, length: int) -> None:
    client.initiate(object_id, b"x" * 10)
    upload_id = "A" * length
    calls = [
        ("POST", f"/upload/{object_id}/parts", {"partNumber": 1, "md5": "0" * 32, "etag": "e"}),
        ("DELETE", f"/upload/{object_id}/parts", {"partNumber": 1}),
        ("POST", f"/upload/{object_id}", {}),
    ]
    for method, path, params in calls:
        response = client.service.request(method, path, params={**params, "uploadId": upload_id})
        assert response.status_code == 400, (path, response.text)
        assert "Upload id" in response.json()["message"]


def test_trailing_slash_is_answered_not_redirected(local_broker: BrokerProcess) -> None:
    response = httpx.get(f"{local_broker.url}/profile/", headers={"Host": "evil.example"})
    assert response.status_code == 200
    assert response.text == "s3"
    assert "location" not in response.headers
    unknown = httpx.get(f"{local_broker.url}/no-such-path/", headers={"Host": "evil.example"})
    assert unknown.status_code == 404
    assert "evil.example" not in unknown.text


def test_health_tells_where_the_store_is_only_to_token_holders(
    broker_factory: BrokerFactory, tmp_path: Path
) -> None:
    store = tmp_path / "secret-store-path"
    broker = broker_factory(
        {"backend": "local", "local": {"directory": str(store)}}, auth={"enabled": True}
    )
    admin = (tmp_path / "data" / "admin-key").read_text().strip()
    for path in ("/health", "/actuator/health"):
        anonymous = httpx.get(f"{broker.url}{path}")
        assert anonymous.json() == {"status": "UP", "components": {"storage": {"status": "UP"}}}
        assert str(store) not in anonymous.text
        known = httpx.get(f"{broker.url}{path}", headers={"Authorization": f"Bearer {admin}"})
        assert known.json()["components"]["storage"]["details"]["directory"] == str(store)


def test_a_finished_part_replaced_since_is_not_published(
    client: ScoreClient, object_id: str, tmp_path: Path
) -> None:
    """A part PUT again in full replaces it, as on S3; the same bytes again change nothing, and
    other bytes make finalize refuse the part until it is finished again."""
    content = os.urandom(PART)
    spec = client.initiate(object_id, content)
    upload_id, url = spec["uploadId"], spec["parts"][0]["url"]
    finish = {"uploadId": upload_id, "partNumber": 1, "md5": md5_hex(content)}
    etag = client.put(url, memoryview(content))
    client.check(client.service.post(f"/upload/{object_id}/parts", params={**finish, "etag": etag}))
    assert client.put(url, memoryview(content)) == etag
    assert client.put(url, memoryview(os.urandom(PART))) != etag
    refused = client.service.post(f"/upload/{object_id}", params={"uploadId": upload_id})
    assert refused.status_code == 400
    assert "upload it again" in refused.json()["message"]
    assert client.put(url, memoryview(content)) == etag
    client.finalize(object_id, upload_id)
    client.download(object_id, tmp_path / "back")
    assert (tmp_path / "back").read_bytes() == content


def test_a_broken_second_put_keeps_the_stored_part(
    client: ScoreClient, object_id: str, tmp_path: Path
) -> None:
    """A PUT of a stored part that dies half-way leaves the part as it was."""
    content = os.urandom(PART)
    spec = client.initiate(object_id, content)
    url, upload_id = spec["parts"][0]["url"], spec["uploadId"]
    etag = client.put(url, memoryview(content))
    target = urlsplit(url)
    with socket.create_connection((target.hostname, target.port)) as sock:
        request = (
            f"PUT {target.path}?{target.query} HTTP/1.1\r\nHost: {target.netloc}\r\n"
            f"Content-Length: {PART}\r\n\r\n"
        ).encode()
        sock.sendall(request + os.urandom(PART // 2))
    client.check(
        client.service.post(
            f"/upload/{object_id}/parts",
            params={"uploadId": upload_id, "partNumber": 1, "md5": md5_hex(content), "etag": etag},
        )
    )
    client.finalize(object_id, upload_id)
    client.download(object_id, tmp_path / "back")
    assert (tmp_path / "back").read_bytes() == content


@pytest.mark.parametrize("trusted", ["", "127.0.0.1"])
def test_access_log_believes_forwarded_for_only_from_trusted_proxies(
    broker_factory: BrokerFactory, tmp_path: Path, trusted: str
) -> None:
    storage = {"backend": "local", "local": {"directory": str(tmp_path / "store")}}
    broker = broker_factory(storage, trusted_proxies=trusted)
    httpx.get(f"{broker.url}/profile", headers={"X-Forwarded-For": "203.0.113.9"})
    httpx.get(f"{broker.url}/health", headers={"X-Forwarded-For": "203.0.113.9"})
    broker.stop()
    lines = [line for line in broker.log_text().splitlines() if '"GET /profile' in line]
    assert len(lines) == 1
    assert ("203.0.113.9" in lines[0]) == bool(trusted)
    assert ("127.0.0.1" in lines[0]) != bool(trusted)
