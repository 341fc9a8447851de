"""What a Score deployment's store needs: URLs handed out through a proxy's host, Song's record
checked at initiate, and the broker's own store calls tuned."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

from tests.conftest import BrokerFactory, s3_storage
from tests.support.broker import BrokerProcess
from tests.support.score_client import ScoreClient
from tests.support.store_proxy import StoreProxy


@pytest.fixture
def proxy() -> Iterator[StoreProxy]:
    started = StoreProxy(upstream="").start()
    yield started
    started.stop()


@pytest.mark.parametrize("backend", ["moto", pytest.param("ceph", marks=pytest.mark.ceph)])
def test_urls_name_the_presigned_host_and_still_verify(
    backend: str,
    request: pytest.FixtureRequest,
    broker_factory: BrokerFactory,
    proxy: StoreProxy,
    tmp_path: Path,
) -> None:
    """Signed for the store's own host, handed out with the proxy's: Ceph checks every
    signature, so a URL whose host was swapped wrongly fails there."""
    endpoint = request.getfixturevalue(f"{backend}_endpoint")
    proxy.upstream = endpoint
    storage = s3_storage(endpoint, f"score-{uuid.uuid4().hex[:12]}")
    storage["part_size"] = 20 * 1024 * 1024
    storage["s3"] |= {"presigned_host": proxy.url, "read_timeout": 30, "max_attempts": 2}
    broker = broker_factory(storage)
    object_id = str(uuid.uuid4())
    content = os.urandom(21 * 1024 * 1024)  # two parts
    with ScoreClient(broker.url) as client:
        spec = client.upload(object_id, content)
        assert all(part["url"].startswith(proxy.url) for part in spec["parts"])
        client.download(object_id, tmp_path / "back")
    assert (tmp_path / "back").read_bytes() == content
    assert len(proxy.data_requests("PUT", object_id)) == 2
    assert len(proxy.data_requests("GET", object_id)) == 2


def cleanup(broker: BrokerProcess, *args: str) -> subprocess.CompletedProcess[str]:
    config = broker.workdir / f"broker-{broker.port}.toml"
    command = [sys.executable, "-m", "score_broker", "cleanup", "--config", str(config), *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)


def open_multipart_uploads(storage: dict[str, Any]) -> int | None:
    """Multipart uploads the store itself still holds (None where it keeps no such list)."""
    if storage["backend"] == "local":
        return len(list((Path(storage["local"]["directory"]) / "multipart").iterdir()))
    if storage["backend"] == "s3":
        s3 = storage["s3"]
        client = boto3.client(
            "s3",
            endpoint_url=s3["endpoint_url"],
            aws_access_key_id=s3["access_key"],
            aws_secret_access_key=s3["secret_key"],
            region_name="us-east-1",
        )
        return len(client.list_multipart_uploads(Bucket=s3["data_bucket"]).get("Uploads", []))
    return None


def test_cleanup_aborts_stale_uploads_in_the_store_and_state(
    broker_factory: BrokerFactory, storage: dict[str, Any], tmp_path: Path
) -> None:
    broker = broker_factory(storage)
    stale_id, done_id = str(uuid.uuid4()), str(uuid.uuid4())
    content = os.urandom(1000)
    with ScoreClient(broker.url) as client:
        client.upload(done_id, content)
        spec = client.initiate(stale_id, content)
        client.put(spec["parts"][0]["url"], memoryview(content))

        young = cleanup(broker, "--older-than", "3600")
        assert young.returncode == 0, young.stderr
        assert young.stdout == ""
        dry = cleanup(broker, "--older-than", "0", "--dry-run")
        assert dry.returncode == 0, dry.stderr
        assert f"would remove upload {spec['uploadId']} of object {stale_id}" in dry.stdout
        assert (
            stale_id
            in client.service.get(
                f"/upload/{stale_id}/status", params={"fileSize": len(content)}
            ).text
        )

        assert open_multipart_uploads(storage) in (1, None)
        removed = cleanup(broker, "--older-than", "0")
        assert removed.returncode == 0, removed.stderr
        assert f"removed upload {spec['uploadId']} of object {stale_id}" in removed.stdout
        assert done_id not in removed.stdout  # finalized objects are not uploads in progress
        gone = client.service.get(f"/upload/{stale_id}/status", params={"fileSize": len(content)})
        assert gone.status_code == 404
        assert open_multipart_uploads(storage) in (0, None)
        finalize = client.service.post(f"/upload/{stale_id}", params={"uploadId": spec["uploadId"]})
        assert finalize.status_code == 404
        client.download(done_id, tmp_path / "done")
        client.upload(stale_id, content)  # the object can be uploaded afresh
    assert (tmp_path / "done").read_bytes() == content
    assert cleanup(broker, "--older-than", "0").stdout == ""
