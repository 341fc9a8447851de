"""Tampered, expired and corrupt requests on pre-signed URLs are refused and change nothing.

Run against the stores that really enforce signatures: the local store's data plane, Ceph RGW
and Azurite (moto accepts anything).
"""

from __future__ import annotations

import base64
import os
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import pytest

from tests.conftest import BrokerFactory
from tests.functional.test_wire_contract import url_expiry
from tests.support.score_client import ScoreClient, md5_hex, put_part

MiB = 1024 * 1024
DIGEST_REFUSALS = ("BadDigest", "Md5Mismatch", "contentMD5 doesn't match")


def tamper(url: str) -> str:
    """The URL with one character of its signature changed."""
    parts = urlsplit(url)
    query = []
    for name, value in parse_qsl(parts.query):
        if name.lower() in ("signature", "x-amz-signature", "sig"):
            value = ("0" if value[0] != "0" else "1") + value[1:]
        query.append((name, value))
    return urlunsplit(parts._replace(query=urlencode(query)))


def wait_until_expired(url: str) -> None:
    """Wait for the wall clock to pass the URL's expiry (what is tested is the clock)."""
    remaining = url_expiry(url) + 1.1 - time.time()
    if remaining > 0:
        time.sleep(remaining)


@pytest.fixture
def short_lived(
    broker_factory: BrokerFactory, enforcing_storage: dict[str, Any]
) -> Iterator[ScoreClient]:
    storage = {**enforcing_storage, "upload_url_expiry": 1, "download_url_expiry": 1}
    client = ScoreClient(broker_factory(storage).url)
    yield client
    client.close()


@pytest.fixture
def enforcing_client(
    broker_factory: BrokerFactory, enforcing_storage: dict[str, Any]
) -> Iterator[ScoreClient]:
    client = ScoreClient(broker_factory(enforcing_storage).url)
    yield client
    client.close()


def part_is_stored(client: ScoreClient, object_id: str, spec: dict[str, Any], body: bytes) -> bool:
    params = {
        "uploadId": spec["uploadId"],
        "partNumber": 1,
        "md5": md5_hex(body),
        "etag": md5_hex(body),
    }
    return client.service.post(f"/upload/{object_id}/parts", params=params).status_code == 200


def test_wrong_content_md5_is_refused(enforcing_client: ScoreClient, object_id: str) -> None:
    content = os.urandom(1000)
    spec = enforcing_client.initiate(object_id, content)
    url = spec["parts"][0]["url"]
    wrong = md5_hex(b"something else")
    header = base64.b64encode(bytes.fromhex(wrong)).decode()
    response = enforcing_client.data.put(
        url, content=content, headers={"Content-MD5": header, "Content-Length": "1000"}
    )
    assert response.status_code == 400
    # S3 says BadDigest; Azure Md5Mismatch, and Azurite "Provided contentMD5 doesn't match".
    assert any(code in response.text for code in DIGEST_REFUSALS), response.text
    assert not part_is_stored(enforcing_client, object_id, spec, content)

    assert enforcing_client.put(url, memoryview(content)) == md5_hex(content)
    assert part_is_stored(enforcing_client, object_id, spec, content)


def test_tampered_urls_are_refused(enforcing_client: ScoreClient, object_id: str) -> None:
    content = os.urandom(1000)
    spec = enforcing_client.initiate(object_id, content)
    refused = put_part(enforcing_client.data, tamper(spec["parts"][0]["url"]), memoryview(content))
    assert refused.status_code == 403
    assert not part_is_stored(enforcing_client, object_id, spec, content)

    enforcing_client.upload_parts(object_id, spec, content, spec["parts"])
    enforcing_client.finalize(object_id, spec["uploadId"])
    download = enforcing_client.check(
        enforcing_client.service.get(f"/download/{object_id}", params={"offset": 0, "length": -1})
    ).json()
    part_url = download["parts"][0]["url"]
    headers = {"Range": "bytes=0-999"}
    assert enforcing_client.data.get(part_url, headers=headers).content == content
    assert enforcing_client.data.get(tamper(part_url), headers=headers).status_code == 403


def test_expired_urls_are_refused(
    short_lived: ScoreClient, enforcing_client: ScoreClient, object_id: str
) -> None:
    content = os.urandom(1000)
    enforcing_client.upload(object_id, content)  # 1-second URLs may expire on a busy machine
    spec = short_lived.initiate(f"{object_id[:-4]}ffff", content)
    download = short_lived.check(
        short_lived.service.get(f"/download/{object_id}", params={"offset": 0, "length": -1})
    ).json()
    put_url, get_url = spec["parts"][0]["url"], download["parts"][0]["url"]
    wait_until_expired(max(put_url, get_url, key=url_expiry))

    assert put_part(short_lived.data, put_url, memoryview(content)).status_code == 403
    assert short_lived.data.get(get_url, headers={"Range": "bytes=0-999"}).status_code == 403
    assert not part_is_stored(short_lived, f"{object_id[:-4]}ffff", spec, content)
