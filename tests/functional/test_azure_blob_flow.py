"""`[storage.azure] upload_flow = "blob"`: Score's Azure upload path, for the Java score-client.

score-client on `az` takes the first part's URL as a blob SAS and writes the file with the Azure
SDK (Put Block and Put Block List, or one Put Blob, with the blob's Content-MD5), and never calls
finish-part or finalize. The SDK's own upload stands in for the Java one here.
"""

from __future__ import annotations

import hashlib
import os
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from azure.storage.blob import BlobClient, ContentSettings

from tests.conftest import BrokerFactory, azure_storage
from tests.support.broker import BrokerProcess
from tests.support.score_client import ScoreClient
from tests.support.tui import Tui

MiB = 1024 * 1024


def md5(data: bytes) -> str:
    return hashlib.md5(data, usedforsecurity=False).hexdigest()


@pytest.fixture
def blob_broker(broker_factory: BrokerFactory, azurite_endpoint: str) -> BrokerProcess:
    storage = azure_storage(azurite_endpoint, f"score-{uuid.uuid4().hex[:12]}")
    storage["azure"]["upload_flow"] = "blob"
    return broker_factory(storage)


def initiate(broker: BrokerProcess, object_id: str, content: bytes) -> dict[str, Any]:
    params = {"fileSize": len(content), "md5": md5(content), "overwrite": "false"}
    response = httpx.post(f"{broker.url}/upload/{object_id}/uploads", params=params)
    assert response.status_code == 200, response.text
    return response.json()


def test_score_client_azure_upload_needs_no_finalize(
    blob_broker: BrokerProcess, tmp_path: Path
) -> None:
    object_id = str(uuid.uuid4())
    content = os.urandom(9 * MiB + 123)
    spec = initiate(blob_broker, object_id, content)
    assert spec["uploadId"] == object_id
    (part,) = spec["parts"]
    assert (part["partNumber"], part["partSize"], part["offset"]) == (1, len(content), 0)
    assert part["md5"] == md5(content)
    query = parse_qs(urlsplit(part["url"]).query)
    assert "comp" not in query
    assert "blockid" not in query
    assert set(query["sp"][0]) == {"c", "w"}
    assert httpx.get(f"{blob_broker.url}/upload/{object_id}").text == "false"

    # As the Java SDK does: blocks of its own naming, then the block list with the blob's MD5.
    blob = BlobClient.from_blob_url(
        part["url"], max_single_put_size=4 * MiB, max_block_size=4 * MiB
    )
    settings = ContentSettings(content_md5=bytearray(bytes.fromhex(md5(content))))
    blob.upload_blob(content, overwrite=True, max_concurrency=4, content_settings=settings)

    assert httpx.get(f"{blob_broker.url}/upload/{object_id}").text == "true"
    refused = httpx.post(
        f"{blob_broker.url}/upload/{object_id}/uploads",
        params={"fileSize": 10, "md5": md5(b"0123456789"), "overwrite": "false"},
    )
    assert refused.status_code == 500  # Score's answer to overwriting without overwrite=true
    with ScoreClient(blob_broker.url) as client:
        spec = client.download(object_id, tmp_path / "copy")
    assert spec["objectMd5"] == md5(content)
    assert (tmp_path / "copy").read_bytes() == content

    # Overwritten by score-client without finalize: the download describes the new bytes.
    newer = os.urandom(5 * MiB + 1)
    params = {"fileSize": len(newer), "md5": md5(newer), "overwrite": "true"}
    again = httpx.post(f"{blob_broker.url}/upload/{object_id}/uploads", params=params).json()
    settings = ContentSettings(content_md5=bytearray(bytes.fromhex(md5(newer))))
    BlobClient.from_blob_url(again["parts"][0]["url"]).upload_blob(
        newer, overwrite=True, content_settings=settings
    )
    with ScoreClient(blob_broker.url) as client:
        spec = client.download(object_id, tmp_path / "newer")
    assert (spec["objectSize"], spec["objectMd5"]) == (len(newer), md5(newer))
    assert (tmp_path / "newer").read_bytes() == newer


def test_score_tui_uploads_and_downloads_on_the_blob_flow(
    blob_broker: BrokerProcess, tmp_path: Path
) -> None:
    (tmp_path / "user").mkdir()
    tui = Tui(tmp_path / "user", blob_broker.url)
    content = os.urandom(25 * MiB + 7)
    (tmp_path / "reads.bin").write_bytes(content)
    object_id = str(uuid.uuid4())
    up = tui.run("upload", "--object-id", object_id, "--file", str(tmp_path / "reads.bin"))
    assert up.returncode == 0, up.stderr
    spec = httpx.get(
        f"{blob_broker.url}/download/{object_id}", params={"offset": 0, "length": -1}
    ).json()
    assert spec["objectMd5"] == md5(content)
    assert [p["partSize"] for p in spec["parts"]] == [20 * MiB, 5 * MiB + 7]
    out = tmp_path / "out"
    down = tui.run(
        "download", "--object-id", object_id, "--output-dir", str(out), "--output-layout", "id"
    )
    assert down.returncode == 0, down.stderr
    assert (out / object_id).read_bytes() == content


def test_finalize_refuses_a_blob_that_is_not_the_declared_file(blob_broker: BrokerProcess) -> None:
    object_id = str(uuid.uuid4())
    content = os.urandom(1000)
    spec = initiate(blob_broker, object_id, content)
    finalize = {"uploadId": spec["uploadId"]}
    missing = httpx.post(f"{blob_broker.url}/upload/{object_id}", params=finalize)
    assert missing.status_code == 400
    assert "holds nothing" in missing.json()["message"]

    other = os.urandom(1000)
    BlobClient.from_blob_url(spec["parts"][0]["url"]).upload_blob(
        other,
        overwrite=True,
        content_settings=ContentSettings(content_md5=bytearray(bytes.fromhex(md5(other)))),
    )
    wrong = httpx.post(f"{blob_broker.url}/upload/{object_id}", params=finalize)
    assert wrong.status_code == 400
    assert "not the declared" in wrong.json()["message"]
    assert (
        httpx.get(f"{blob_broker.url}/upload/{object_id}").text == "true"
    )  # as Score: bytes exist
