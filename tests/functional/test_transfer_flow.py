"""A 100 MB file uploaded in parts and downloaded back, as score-client does it, on every store."""

from __future__ import annotations

from pathlib import Path

import httpx

from tests.support.broker import BrokerProcess
from tests.support.score_client import ScoreClient, md5_hex


def test_upload_then_download_is_byte_identical(
    broker: BrokerProcess,
    client: ScoreClient,
    object_id: str,
    content_100mb: bytes,
    tmp_path: Path,
) -> None:
    spec = client.upload(object_id, content_100mb)
    assert [p["partSize"] for p in spec["parts"]] == [20_971_520] * 4 + [16_113_920]
    assert httpx.get(f"{broker.url}/upload/{object_id}").text == "true"

    destination = tmp_path / "downloaded"
    download = client.download(object_id, destination)

    assert destination.read_bytes() == content_100mb
    assert download["objectMd5"] == md5_hex(content_100mb)
    assert download["uploadId"] == spec["uploadId"]
    assert [p["sourceMd5"] for p in download["parts"]] == [
        md5_hex(content_100mb[p["offset"] : p["offset"] + p["partSize"]]) for p in download["parts"]
    ]


def test_second_upload_without_force_is_refused_by_the_exists_check(
    client: ScoreClient, object_id: str
) -> None:
    content = b"x" * 1000
    client.upload(object_id, content)
    try:
        client.upload(object_id, content)
    except FileExistsError:
        pass
    else:
        raise AssertionError("the second upload should see the object as existing")
    replaced = b"y" * 2000
    client.upload(object_id, replaced, force=True)
    spec = client.check(
        client.service.get(f"/download/{object_id}", params={"offset": 0, "length": -1})
    ).json()
    assert spec["objectSize"] == 2000
    assert spec["objectMd5"] == md5_hex(replaced)
