"""Score's REST API as the contract writes it: bodies, field order, nulls and status codes."""

from __future__ import annotations

import os
import time
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from tests.support.broker import BrokerProcess
from tests.support.score_client import ScoreClient, md5_hex

MiB = 1024 * 1024
SPEC_FIELDS = ["objectKey", "objectId", "uploadId", "parts", "objectSize", "objectMd5"]
PART_FIELDS = ["partNumber", "partSize", "offset", "url", "md5"]


@pytest.fixture(scope="module")
def content() -> bytes:
    return os.urandom(20 * MiB + 1000)  # two parts


def url_expiry(url: str) -> float:
    """The expiry score-client parses from a pre-signed URL (contract 3.4 and 8.6)."""
    query = {k.lower(): v[0] for k, v in parse_qs(urlsplit(url).query).items()}
    if "expires" in query:
        return float(query["expires"])
    if "se" in query:  # Azure SAS
        return datetime.fromisoformat(query["se"].replace("Z", "+00:00")).timestamp()
    signed_at = datetime.strptime(query["x-amz-date"], "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
    return signed_at.timestamp() + int(query["x-amz-expires"])


def initiate(client: ScoreClient, object_id: str, content: bytes, **extra: Any) -> httpx.Response:
    params = {"fileSize": len(content), "md5": md5_hex(content), **extra}
    return client.service.post(f"/upload/{object_id}/uploads", params=params)


def upload_part(
    client: ScoreClient, object_id: str, spec: dict[str, Any], content: bytes, n: int
) -> None:
    part = spec["parts"][n - 1]
    body = memoryview(content)[part["offset"] : part["offset"] + part["partSize"]]
    etag = client.put(part["url"], body)
    params = {"uploadId": spec["uploadId"], "partNumber": n, "md5": md5_hex(body), "etag": etag}
    client.check(client.service.post(f"/upload/{object_id}/parts", params=params))


def test_profile_and_ping_are_bare_text(
    broker: BrokerProcess, storage: dict[str, Any], client: ScoreClient
) -> None:
    profile = httpx.get(f"{broker.url}/profile")
    assert profile.status_code == 200
    assert profile.text == ("az" if storage["backend"] == "azure" else "s3")
    assert profile.headers["content-type"].startswith("text/plain")

    ping = httpx.get(f"{broker.url}/download/ping")
    assert ping.headers["content-type"].startswith("text/plain")
    assert ping.text.startswith("http")
    assert "\n" not in ping.text
    sentinel = httpx.get(ping.text, timeout=5)
    assert sentinel.status_code == 200
    assert url_expiry(ping.text) - time.time() <= 301


def test_exists_is_bare_true_or_false(
    broker: BrokerProcess, client: ScoreClient, object_id: str
) -> None:
    before = httpx.get(f"{broker.url}/upload/{object_id}")
    assert before.status_code == 200
    assert before.content == b"false"
    client.upload(object_id, b"hello")
    assert httpx.get(f"{broker.url}/upload/{object_id}").content == b"true"


def test_upload_spec_shape(client: ScoreClient, object_id: str, content: bytes) -> None:
    spec = client.check(initiate(client, object_id, content, overwrite="true")).json()
    assert list(spec) == SPEC_FIELDS
    assert spec["objectKey"] == f"data/{object_id}"
    assert spec["objectId"] == object_id
    assert spec["objectSize"] == len(content)
    assert spec["objectMd5"] == md5_hex(content)
    assert [list(p) for p in spec["parts"]] == [PART_FIELDS, PART_FIELDS]
    assert [(p["partNumber"], p["partSize"], p["offset"]) for p in spec["parts"]] == [
        (1, 20 * MiB, 0),
        (2, 1000, 20 * MiB),
    ]
    assert all(p["md5"] is None for p in spec["parts"])
    for part in spec["parts"]:
        assert 3500 <= url_expiry(part["url"]) - time.time() <= 3601


def test_status_marks_finished_parts_with_source_md5(
    client: ScoreClient, object_id: str, content: bytes
) -> None:
    spec = client.check(initiate(client, object_id, content)).json()
    upload_part(client, object_id, spec, content, 1)

    status = client.service.get(f"/upload/{object_id}/status", params={"fileSize": len(content)})
    progress = client.check(status).json()
    assert list(progress) == ["objectId", "uploadId", "parts"]
    assert progress["uploadId"] == spec["uploadId"]
    first, second = progress["parts"]
    assert first["sourceMd5"] == md5_hex(content[: 20 * MiB])
    assert first["md5"] is None
    assert "sourceMd5" not in second
    assert second["url"]  # a fresh URL to resume with

    recovery = client.service.post(
        f"/upload/{object_id}/recovery", params={"fileSize": len(content)}
    )
    assert recovery.status_code == 200
    changed = {"fileSize": len(content) + 1}
    assert client.service.post(f"/upload/{object_id}/recovery", params=changed).status_code == 400
    assert client.service.get(f"/upload/{object_id}/status", params=changed).status_code == 400

    forget = {"uploadId": spec["uploadId"], "partNumber": 1}
    assert client.service.delete(f"/upload/{object_id}/parts", params=forget).status_code == 200
    again = client.service.get(f"/upload/{object_id}/status", params={"fileSize": len(content)})
    assert all("sourceMd5" not in p for p in again.json()["parts"])


def test_finalize_needs_every_part(client: ScoreClient, object_id: str, content: bytes) -> None:
    spec = client.check(initiate(client, object_id, content)).json()
    upload_part(client, object_id, spec, content, 2)
    early = client.service.post(f"/upload/{object_id}", params={"uploadId": spec["uploadId"]})
    assert early.status_code == 400
    assert "1 of 2 parts" in early.json()["message"]
    assert client.service.get(f"/upload/{object_id}").text == "false"

    upload_part(client, object_id, spec, content, 1)
    client.finalize(object_id, spec["uploadId"])
    assert client.service.get(f"/upload/{object_id}").text == "true"
    status = client.service.get(f"/upload/{object_id}/status", params={"fileSize": len(content)})
    assert status.status_code == 404


def test_finish_part_checks_the_stored_part(
    client: ScoreClient, object_id: str, content: bytes
) -> None:
    spec = client.check(initiate(client, object_id, content)).json()
    base = {"uploadId": spec["uploadId"], "partNumber": 1}
    md5 = md5_hex(content[: 20 * MiB])
    not_uploaded = client.service.post(
        f"/upload/{object_id}/parts", params={**base, "md5": md5, "etag": md5}
    )
    assert not_uploaded.status_code == 400
    assert "Part does not exist" in not_uploaded.json()["message"]
    blank = client.service.post(
        f"/upload/{object_id}/parts", params={**base, "md5": "", "etag": ""}
    )
    assert blank.status_code == 400
    missing = client.service.post(f"/upload/{object_id}/parts", params=base)
    assert missing.status_code == 400
    assert missing.json()["message"] == "Required query parameter 'md5' is missing."
    unknown = client.service.post(
        f"/upload/{object_id}/parts",
        params={**base, "uploadId": "nosuchupload", "md5": md5, "etag": md5},
    )
    assert unknown.status_code == 404


def test_a_part_stored_again_with_other_bytes_counts_as_stored_last(
    client: ScoreClient, object_id: str, content: bytes
) -> None:
    """A part sent and finished twice, with other bytes the second time: status, finalize and
    the object all follow the bytes the store holds."""
    spec = client.check(initiate(client, object_id, content)).json()
    upload_part(client, object_id, spec, content, 2)
    first = content[: 20 * MiB]
    second = os.urandom(20 * MiB)
    for body in (first, second):
        part = spec["parts"][0]
        etag = client.put(part["url"], memoryview(body))
        params = {"uploadId": spec["uploadId"], "partNumber": 1, "md5": md5_hex(body), "etag": etag}
        client.check(client.service.post(f"/upload/{object_id}/parts", params=params))
    status = client.service.get(f"/upload/{object_id}/status", params={"fileSize": len(content)})
    assert client.check(status).json()["parts"][0]["sourceMd5"] == md5_hex(second)
    # The declared MD5 was the first file's; the store now holds other bytes. The local store
    # checks the whole object and refuses; S3 and Azure record what was declared, as Score.
    finalized = client.service.post(f"/upload/{object_id}", params={"uploadId": spec["uploadId"]})
    if finalized.status_code == 400:
        assert "MD5" in finalized.json()["message"]
        return
    client.check(finalized)
    spec = client.check(
        client.service.get(f"/download/{object_id}", params={"offset": 0, "length": -1})
    ).json()
    assert spec["parts"][0]["sourceMd5"] == md5_hex(second)
    url = spec["parts"][0]["url"]
    got = client.data.get(url, headers={"Range": f"bytes=0-{20 * MiB - 1}"})
    assert md5_hex(got.content) == md5_hex(second)


def test_overwrite_false_on_an_existing_object_is_refused(
    client: ScoreClient, object_id: str, content: bytes
) -> None:
    client.upload(object_id, b"first")
    refused = initiate(client, object_id, content)
    assert refused.status_code == 500  # Score's status, which score-client treats as final
    assert "overwrite" in refused.json()["message"]
    allowed = initiate(client, object_id, content, overwrite="true")
    assert allowed.status_code == 200


def test_cancel_drops_the_upload(client: ScoreClient, object_id: str, content: bytes) -> None:
    assert client.service.delete(f"/upload/{object_id}").status_code == 404
    spec = client.check(initiate(client, object_id, content)).json()
    assert client.service.delete(f"/upload/{object_id}").status_code == 200
    status = client.service.get(f"/upload/{object_id}/status", params={"fileSize": len(content)})
    assert status.status_code == 404
    finalize = client.service.post(f"/upload/{object_id}", params={"uploadId": spec["uploadId"]})
    assert finalize.status_code == 404


def test_ranged_external_and_url_free_download_specs(
    client: ScoreClient, object_id: str, content: bytes
) -> None:
    client.upload(object_id, content)
    whole_md5 = md5_hex(content)

    ranged = client.check(
        client.service.get(f"/download/{object_id}", params={"offset": 5, "length": 100})
    ).json()
    assert list(ranged) == SPEC_FIELDS
    assert ranged["objectSize"] == 100
    assert ranged["objectMd5"] == whole_md5
    (part,) = ranged["parts"]
    assert (part["partNumber"], part["partSize"], part["offset"]) == (1, 100, 5)
    assert "sourceMd5" not in part
    got = client.data.get(part["url"], headers={"Range": "bytes=5-104"})
    assert got.status_code == 206
    assert got.content == content[5:105]

    tail = client.check(
        client.service.get(f"/download/{object_id}", params={"offset": 20 * MiB, "length": -1})
    ).json()
    assert tail["objectSize"] == 1000
    assert [(p["partSize"], p["offset"]) for p in tail["parts"]] == [(1000, 20 * MiB)]

    external = client.check(
        client.service.get(
            f"/download/{object_id}", params={"offset": 0, "length": -1, "external": "true"}
        )
    ).json()
    assert external["objectSize"] == -1
    assert [(p["partNumber"], p["partSize"], p["offset"]) for p in external["parts"]] == [
        (1, -1, 0)
    ]
    anywhere = client.data.get(external["parts"][0]["url"], headers={"Range": "bytes=1000-1999"})
    assert anywhere.status_code == 206
    assert anywhere.content == content[1000:2000]

    described = client.check(
        client.service.get(
            f"/download/{object_id}", params={"offset": 0, "length": -1, "exclude-urls": "true"}
        )
    ).json()
    assert all(p["url"] is None for p in described["parts"])
    assert all("sourceMd5" in p for p in described["parts"])


@pytest.mark.parametrize(
    ("path", "params", "status", "message"),
    [
        ("/download/not-a-uuid", {"offset": 0, "length": -1}, 400, "is not a valid UUID"),
        ("/download/{id}", {"length": -1}, 400, "Required query parameter 'offset' is missing."),
        ("/download/{id}", {"offset": "x", "length": -1}, 400, "must be an integer"),
        ("/download/{id}", {"offset": -1, "length": -1}, 400, "offset must be 0 or more"),
        ("/download/{id}", {"offset": 0, "length": -1}, 404, "does not exist"),
        ("/download/..%2F..%2Fsecret", {"offset": 0, "length": -1}, 404, "Not Found"),
        ("/download/..%2Esecret", {"offset": 0, "length": -1}, 400, "is not a valid UUID"),
    ],
)
def test_bad_download_requests(
    broker: BrokerProcess,
    object_id: str,
    path: str,
    params: dict[str, Any],
    status: int,
    message: str,
) -> None:
    response = httpx.get(broker.url + path.replace("{id}", object_id), params=params)
    assert response.status_code == status
    body = response.json()
    assert message in body["message"]
    assert body["status"] == status
    assert "Traceback" not in response.text


def test_range_beyond_the_object_is_400(client: ScoreClient, object_id: str) -> None:
    client.upload(object_id, b"0123456789")
    beyond = client.service.get(f"/download/{object_id}", params={"offset": 5, "length": 6})
    assert beyond.status_code == 400
    assert "beyond the end" in beyond.json()["message"]


def test_bad_upload_requests(client: ScoreClient, object_id: str) -> None:
    empty = client.service.post(f"/upload/{object_id}/uploads", params={"fileSize": 0})
    assert empty.status_code == 400
    assert "empty files" in empty.json()["message"]
    bad_md5 = client.service.post(
        f"/upload/{object_id}/uploads", params={"fileSize": 10, "md5": "nope"}
    )
    assert bad_md5.status_code == 400
    assert (
        client.service.get(f"/upload/{object_id}/status", params={"fileSize": 10}).status_code
        == 404
    )
    assert (
        client.service.post(f"/upload/{object_id}/recovery", params={"fileSize": 10}).status_code
        == 404
    )


def test_health_and_openapi(broker: BrokerProcess) -> None:
    health = httpx.get(f"{broker.url}/health").json()
    assert health["status"] == "UP"
    assert health["components"]["storage"]["status"] == "UP"
    paths = httpx.get(f"{broker.url}/openapi.json").json()["paths"]
    assert {"/upload/{object_id}/uploads", "/download/{object_id}", "/profile"} <= set(paths)
