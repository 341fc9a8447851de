"""What a Score deployment's store needs: URLs handed out through a proxy's host, Song's record
checked at initiate, and the broker's own store calls tuned."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import httpx
import pytest

from score_broker.services.cleanup import Lease
from score_broker.services.upload_state import UploadState
from score_broker.storage.local import LocalStore
from tests.conftest import BrokerFactory, s3_storage
from tests.functional.test_wire_contract import url_expiry
from tests.support.broker import BrokerProcess
from tests.support.score_client import ScoreClient
from tests.support.song import register
from tests.support.store_proxy import StoreProxy
from tests.support.tui import Tui
from tests.support.waiting import wait_until


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


def s3_client(s3: dict[str, Any]) -> Any:
    """boto3 on the test store of an `[storage.s3]` table, to look at what the broker left."""
    return boto3.client(
        "s3",
        endpoint_url=s3["endpoint_url"],
        aws_access_key_id=s3["access_key"],
        aws_secret_access_key=s3["secret_key"],
        region_name="us-east-1",
    )


def open_multipart_uploads(storage: dict[str, Any]) -> int | None:
    """Multipart uploads the store itself still holds (None where it keeps no such list)."""
    if storage["backend"] == "local":
        return len(list((Path(storage["local"]["directory"]) / "multipart").iterdir()))
    if storage["backend"] == "s3":
        s3 = storage["s3"]
        client = s3_client(s3)
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


def test_serve_cleans_up_on_its_own(broker_factory: BrokerFactory, tmp_path: Path) -> None:
    storage = {"backend": "local", "local": {"directory": str(tmp_path / "store")}}
    broker = broker_factory(storage)
    broker.stop()
    broker.config["cleanup"] = {"enabled": True, "interval": 1, "older_than": 1}
    broker.start()
    object_id = str(uuid.uuid4())
    with ScoreClient(broker.url) as client:
        client.initiate(object_id, b"x" * 10)

        def gone() -> bool:
            status = client.service.get(f"/upload/{object_id}/status", params={"fileSize": 10})
            return status.status_code == 404

        wait_until(gone, "the cleanup to remove the upload", timeout=30)
    assert "cleanup: removed upload" in broker.log_text()


def test_one_replica_at_a_time_holds_the_cleanup_lease(tmp_path: Path) -> None:
    state = UploadState(LocalStore(tmp_path, "http://127.0.0.1:1"), "data", "upload")
    first, second = Lease(state, "first"), Lease(state, "second")
    assert first.take(60, now=1000)
    assert not second.take(60, now=1030)
    assert first.take(60, now=1030)  # the holder renews
    assert second.take(60, now=1100)  # once it has run out


def test_cancel_all_needs_the_system_write_scope(
    broker_factory: BrokerFactory, tmp_path: Path
) -> None:
    storage = {"backend": "local", "local": {"directory": str(tmp_path / "store")}}
    broker = broker_factory(storage, auth={"enabled": True})
    admin = (tmp_path / "data" / "admin-key").read_text().strip()
    config = broker.workdir / f"broker-{broker.port}.toml"
    reader = subprocess.run(
        [sys.executable, "-m", "score_broker", "keys", "create", "--config", str(config),
         "--scope", "score.READ", "--scope", "PROGRAMDATA-ABC.WRITE"],
        capture_output=True, text=True, check=True, timeout=60,
    ).stdout.strip()  # fmt: skip
    ids = [str(uuid.uuid4()) for _ in range(3)]
    with ScoreClient(broker.url, token=admin) as client:
        for object_id in ids:
            client.initiate(object_id, b"y" * 10)
        assert httpx.post(f"{broker.url}/upload/cancel").status_code == 401
        headers = {"Authorization": f"Bearer {reader}"}
        assert httpx.post(f"{broker.url}/upload/cancel", headers=headers).status_code == 403
        assert client.service.post("/upload/cancel").status_code == 200
        for object_id in ids:
            status = client.service.get(f"/upload/{object_id}/status", params={"fileSize": 10})
            assert status.status_code == 404


SSE_CASES = [
    ("moto", "AES256"),
    ("moto", "aws:kms"),
    pytest.param("ceph", "aws:kms", marks=pytest.mark.ceph),
]


@pytest.mark.parametrize(("backend", "sse"), SSE_CASES)
def test_encrypted_bucket_upload_resume_download(
    backend: str,
    sse: str,
    request: pytest.FixtureRequest,
    broker_factory: BrokerFactory,
    tmp_path: Path,
) -> None:
    """score-tui, unchanged, on a bucket whose objects are encrypted as Score sets it. On Ceph
    with SSE-KMS a part's ETag is not its MD5, so finish-part must verify parts another way."""
    endpoint = request.getfixturevalue(f"{backend}_endpoint")
    storage = s3_storage(endpoint, f"score-{uuid.uuid4().hex[:12]}")
    storage["s3"] |= {"sse": sse, "kms_key_id": "testkey-1" if backend == "ceph" else ""}
    broker = broker_factory(storage, song={"url": "embedded"})
    content = os.urandom(45 * 1024 * 1024)  # three parts
    source = tmp_path / "enc.vcf"
    source.write_bytes(content)
    tui = Tui(tmp_path / "user", broker.url)
    (tmp_path / "user").mkdir()
    running = tui.popen("upload", "--study", "ENC", "--file", str(source), "--publish")
    wait_until(lambda: any(tui.done_parts().values()), "a part to be uploaded")
    running.kill()
    running.wait()
    resumed = tui.run("resume")
    assert resumed.returncode == 0, resumed.stderr
    listing = httpx.get(
        f"{broker.url}/song/studies/ENC/analysis", params={"analysisStates": "PUBLISHED"}
    ).json()
    assert len(listing) == 1
    analysis_id = listing[0]["analysisId"]
    out = tmp_path / "out"
    status, summary = tui.json(
        "download", "--analysis-id", analysis_id, "--study-id", "ENC", "--output-dir", str(out)
    )
    assert status == 0, summary["stderr"]
    assert (out / "enc.vcf").read_bytes() == content
    s3 = storage["s3"]
    client = s3_client(s3)
    object_id = listing[0]["files"][0]["objectId"]
    head = client.head_object(Bucket=s3["data_bucket"], Key=f"data/{object_id}")
    assert head["ServerSideEncryption"] == sse


@pytest.mark.parametrize("backend", ["moto", pytest.param("ceph", marks=pytest.mark.ceph)])
def test_a_pool_of_three_buckets(
    backend: str, request: pytest.FixtureRequest, broker_factory: BrokerFactory, tmp_path: Path
) -> None:
    """Objects land in `<bucket>.<i>` as Score computes i; upload, resume, download and
    cleanup work across the pool."""
    endpoint = request.getfixturevalue(f"{backend}_endpoint")
    bucket = f"score-{uuid.uuid4().hex[:12]}"
    storage = s3_storage(endpoint, bucket)
    storage["s3"] |= {"bucket_pool_size": 3, "bucket_key_size": 2}
    broker = broker_factory(storage, song={"url": "embedded"})
    health = httpx.get(f"{broker.url}/health").json()
    assert health["components"]["storage"]["details"]["bucketPoolSize"] == 3
    tui = Tui(tmp_path / "user", broker.url)
    (tmp_path / "user").mkdir()
    source = tmp_path / "src"
    source.mkdir()
    contents = {f"f{n}.vcf": os.urandom(1000 + n) for n in range(6)}
    contents["big.vcf"] = os.urandom(45 * 1024 * 1024)  # three parts, interrupted
    for name, data in contents.items():
        (source / name).write_bytes(data)
    files = [arg for name in contents for arg in ("--file", str(source / name))]
    running = tui.popen("upload", "--study", "POOL", *files, "--publish")
    wait_until(lambda: sum(tui.done_parts().values()) >= 1, "a part to be uploaded")
    running.kill()
    running.wait()
    uploaded = tui.run("resume")
    assert uploaded.returncode == 0, uploaded.stderr
    listing = httpx.get(
        f"{broker.url}/song/studies/POOL/analysis", params={"analysisStates": "PUBLISHED"}
    ).json()
    ids = {f["fileName"]: f["objectId"] for f in listing[0]["files"]}
    s3 = storage["s3"]
    client = s3_client(s3)
    for object_id in ids.values():
        index = int(object_id[:2], 16) % 3
        client.head_object(Bucket=f"{bucket}.{index}", Key=f"data/{object_id}")
        client.head_object(Bucket=f"{bucket}.state.{index}", Key=f"data/{object_id}.meta")
    out = tmp_path / "out"
    status, summary = tui.json(
        "download", "--analysis-id", listing[0]["analysisId"], "--study-id", "POOL",
        "--output-dir", str(out),
    )  # fmt: skip
    assert status == 0, summary["stderr"]
    assert {name: (out / name).read_bytes() for name in contents} == contents
    stale = register(f"{broker.url}/song", "POOL2", {"s.vcf": (b"z" * 10, "open")})["s.vcf"]
    with ScoreClient(broker.url) as score:
        score.initiate(stale, b"z" * 10)
    removed = cleanup(broker, "--older-than", "0")
    assert f"of object {stale}" in removed.stdout


def test_clients_that_do_not_refresh_urls_get_longer_ones(
    broker_factory: BrokerFactory, tmp_path: Path
) -> None:
    """score-tui asks for fresh URLs itself and gets short ones; the Java score-client signs a
    transfer once, so it gets [storage] score_client_*_url_expiry when set."""
    storage = {
        "backend": "local",
        "local": {"directory": str(tmp_path / "store")},
        "upload_url_expiry": 60,
        "download_url_expiry": 120,
        "score_client_upload_url_expiry": 518400,
        "score_client_download_url_expiry": 86400,
    }
    broker = broker_factory(storage)
    content = b"q" * 100
    java, tui = str(uuid.uuid4()), str(uuid.uuid4())
    with ScoreClient(broker.url) as client:  # score-client's User-Agent
        long_lived = client.initiate(java, content)["parts"][0]["url"]
        client.upload(tui, content)
        spec = client.check(
            client.service.get(f"/download/{tui}", params={"offset": 0, "length": -1})
        ).json()
        long_get = spec["parts"][0]["url"]
    as_tui = {"User-Agent": "score-tui/0.1.0"}
    short_lived = httpx.post(
        f"{broker.url}/upload/{java}/uploads",
        params={"fileSize": len(content), "overwrite": "true"},
        headers=as_tui,
    ).json()["parts"][0]["url"]
    short_get = httpx.get(
        f"{broker.url}/download/{tui}", params={"offset": 0, "length": -1}, headers=as_tui
    ).json()["parts"][0]["url"]
    now = time.time()
    assert 518300 <= url_expiry(long_lived) - now <= 518401
    assert 86300 <= url_expiry(long_get) - now <= 86401
    assert 0 < url_expiry(short_lived) - now <= 61
    assert 0 < url_expiry(short_get) - now <= 121


def test_listing_and_info_as_score_serves_them(
    broker_factory: BrokerFactory, storage: dict[str, Any], tmp_path: Path
) -> None:
    broker = broker_factory({**storage, "listing_cache_seconds": 0}, auth={"enabled": True})
    admin = (tmp_path / "data" / "admin-key").read_text().strip()
    config = broker.workdir / f"broker-{broker.port}.toml"

    def key(*scopes: str) -> str:
        command = [sys.executable, "-m", "score_broker", "keys", "create", "--config", str(config)]
        for scope in scopes:
            command += ["--scope", scope]
        return subprocess.run(command, capture_output=True, text=True, check=True).stdout.strip()

    contents = {str(uuid.uuid4()): os.urandom(100 + n) for n in range(3)}
    started = time.time()
    with ScoreClient(broker.url, token=admin) as client:
        for object_id, data in contents.items():
            client.upload(object_id, data)
        client.initiate(str(uuid.uuid4()), b"unfinished")  # not an object yet
    listing = httpx.get(f"{broker.url}/listing", headers={"Authorization": f"Bearer {admin}"})
    assert listing.status_code == 200
    found = {item["id"]: item for item in listing.json()}
    assert {i: found[i]["size"] for i in found} == {i: len(d) for i, d in contents.items()}
    assert all(abs(item["lastModified"] / 1000 - started) < 600 for item in found.values())
    assert set(next(iter(found.values()))) == {"id", "lastModified", "size"}
    study_reader = {"Authorization": f"Bearer {key('PROGRAMDATA-ABC.READ')}"}
    assert httpx.get(f"{broker.url}/listing", headers=study_reader).status_code == 200
    writer = {"Authorization": f"Bearer {key('score.WRITE')}"}
    assert httpx.get(f"{broker.url}/listing", headers=writer).status_code == 403
    assert httpx.get(f"{broker.url}/listing").status_code == 401
    assert httpx.get(f"{broker.url}/actuator/info").status_code == 401
    info = httpx.get(f"{broker.url}/actuator/info", headers=writer).json()
    assert info["build"]["name"] == "score-broker"
    assert info["build"]["version"]
