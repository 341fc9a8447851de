"""The azure store's SAS URLs on Azurite: tampered, expired, wrong-permission and wrong-MD5
requests are refused and store nothing; `/profile` answers `az`."""

from __future__ import annotations

import base64
import hashlib
import os
import time
import uuid
from datetime import datetime
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from tests.conftest import BrokerFactory, azure_storage
from tests.support.broker import BrokerProcess


def md5(data: bytes) -> str:
    return hashlib.md5(data, usedforsecurity=False).hexdigest()


@pytest.fixture
def azure(azurite_endpoint: str) -> dict[str, Any]:
    return azure_storage(azurite_endpoint, f"score-{uuid.uuid4().hex[:12]}")


def initiate(broker: BrokerProcess, object_id: str, content: bytes) -> dict[str, Any]:
    params = {"fileSize": len(content), "md5": md5(content), "overwrite": "true"}
    response = httpx.post(f"{broker.url}/upload/{object_id}/uploads", params=params)
    assert response.status_code == 200, response.text
    return response.json()


def put_block(url: str, content: bytes, md5_hex: str | None = None) -> httpx.Response:
    digest = base64.b64encode(bytes.fromhex(md5_hex or md5(content))).decode()
    return httpx.put(url, content=content, headers={"Content-MD5": digest})


def recorded(broker: BrokerProcess, object_id: str, spec: dict[str, Any], content: bytes) -> bool:
    params = {"uploadId": spec["uploadId"], "partNumber": 1, "md5": md5(content),
              "etag": md5(content)}  # fmt: skip
    return httpx.post(f"{broker.url}/upload/{object_id}/parts", params=params).status_code == 200


def tamper(url: str) -> str:
    head, _, signature = url.partition("sig=")
    return f"{head}sig={'A' if signature[0] != 'A' else 'B'}{signature[1:]}"


def test_sas_urls_are_checked(broker_factory: BrokerFactory, azure: dict[str, Any]) -> None:
    broker = broker_factory(azure)
    assert httpx.get(f"{broker.url}/profile").text == "az"
    object_id = str(uuid.uuid4())
    content = os.urandom(1000)
    spec = initiate(broker, object_id, content)
    url = spec["parts"][0]["url"]
    assert "comp=block" in url
    assert "sp=w" in url

    assert put_block(tamper(url), content).status_code == 403
    assert put_block(url, content, md5_hex=md5(b"other bytes")).status_code == 400
    read_only = httpx.get(f"{broker.url}/download/ping").text.strip()
    assert "sp=r" in read_only
    query = url.split("?", 1)[1]
    block = "&".join(p for p in query.split("&") if p.startswith(("comp=", "blockid=")))
    assert put_block(f"{read_only}&{block}", content).status_code == 403
    assert not recorded(broker, object_id, spec, content)

    assert put_block(url, content).status_code == 201
    assert recorded(broker, object_id, spec, content)
    finalized = httpx.post(
        f"{broker.url}/upload/{object_id}", params={"uploadId": spec["uploadId"]}
    )
    assert finalized.status_code == 200, finalized.text
    download = httpx.get(f"{broker.url}/download/{object_id}", params={"offset": 0, "length": -1})
    wire = download.json()
    assert wire["objectMd5"] == md5(content)
    part_url = wire["parts"][0]["url"]
    assert httpx.get(part_url, headers={"Range": "bytes=0-999"}).content == content
    assert httpx.get(tamper(part_url), headers={"Range": "bytes=0-999"}).status_code == 403


def test_expired_sas_urls_are_refused(broker_factory: BrokerFactory, azure: dict[str, Any]) -> None:
    broker = broker_factory({**azure, "upload_url_expiry": 1})
    object_id = str(uuid.uuid4())
    content = os.urandom(1000)
    spec = initiate(broker, object_id, content)
    url = spec["parts"][0]["url"]
    expiry = parse_qs(urlsplit(url).query)["se"][0]
    remaining = (
        datetime.fromisoformat(expiry.replace("Z", "+00:00")).timestamp() + 1.1 - time.time()
    )
    if remaining > 0:
        time.sleep(remaining)  # what is tested is the clock passing the URL's expiry
    assert put_block(url, content).status_code == 403
    assert not recorded(broker, object_id, spec, content)
