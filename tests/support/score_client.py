"""score-client's calls, in score-client's order (contract 8.5 and 8.9), over real HTTP.

It is the reference the tests hold the broker to: what the Java client does on the wire, with
the same headers, the same query parameters and the same checks of ETags and MD5s.
"""

from __future__ import annotations

import base64
import functools
import hashlib
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

SLICE = 1024 * 1024
USER_AGENT = "5.11.0"
PART_ATTEMPTS = 3


def md5_hex(data: bytes | memoryview) -> str:
    return hashlib.md5(data, usedforsecurity=False).hexdigest()


def slices(data: memoryview) -> Iterator[memoryview]:
    for start in range(0, len(data), SLICE):
        yield data[start : start + SLICE]


def put_part(
    client: httpx.Client, url: str, data: memoryview, content_md5: bool = True
) -> httpx.Response:
    """PUT a part body in 1 MiB slices with an explicit Content-Length."""
    headers = {"Content-Length": str(len(data))}
    if content_md5:
        digest = hashlib.md5(data, usedforsecurity=False).digest()
        headers["Content-MD5"] = base64.b64encode(digest).decode()
    return client.put(url, content=slices(data), headers=headers)


@dataclass
class ScoreClient:
    """A stand-in for score-client talking to a broker at `server_url`."""

    server_url: str
    token: str | None = None
    parallel: int = 4
    #: score-client sends no Content-MD5 on part PUTs; the tests can ask for it.
    content_md5: bool = False

    def __post_init__(self) -> None:
        headers = {"User-Agent": USER_AGENT}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        self.service = httpx.Client(base_url=self.server_url, headers=headers, timeout=120)
        self.data = httpx.Client(timeout=120, limits=httpx.Limits(max_connections=32))

    def __enter__(self) -> ScoreClient:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def close(self) -> None:
        self.service.close()
        self.data.close()

    def check(self, response: httpx.Response) -> httpx.Response:
        if response.status_code >= 400:
            raise AssertionError(
                f"{response.request.method} {response.request.url} -> "
                f"{response.status_code}: {response.text}"
            )
        return response

    @functools.cached_property
    def profile(self) -> str:
        """`s3` or `az`: on `az` parts carry Content-MD5 and ETags are not MD5s (contract 5.2)."""
        return self.check(self.service.get("/profile")).text

    def verify_connection(self) -> None:
        url = self.check(self.service.get("/download/ping")).text
        self.check(self.data.get(url, timeout=5))

    def upload(self, object_id: str, content: bytes, force: bool = False) -> dict[str, Any]:
        """Upload as score-client does; returns the spec initiate returned."""
        self.verify_connection()
        exists = self.check(self.service.get(f"/upload/{object_id}")).text
        if exists == "true" and not force:
            raise FileExistsError(object_id)
        status = self.service.get(f"/upload/{object_id}/status", params={"fileSize": len(content)})
        assert status.status_code == 404, status.text
        spec = self.initiate(object_id, content, overwrite="true")
        self.upload_parts(object_id, spec, content, spec["parts"])
        self.finalize(object_id, spec["uploadId"])
        return spec

    def put(self, url: str, body: memoryview) -> str:
        """PUT a part; returns the ETag to report to finish-part.

        On `az` the part goes with its Content-MD5, which Azure checks; Put Block answers without
        an ETag, so the part's MD5 stands in for it, as score-tui does.
        """
        azure = self.profile == "az"
        response = self.check(put_part(self.data, url, body, self.content_md5 or azure))
        return md5_hex(body) if azure else response.headers["ETag"].strip('"')

    def initiate(self, object_id: str, content: bytes, **extra: str) -> dict[str, Any]:
        """Start an upload of `content` (declaring its MD5); returns the upload spec."""
        return self.check(self.initiate_raw(object_id, content, **extra)).json()

    def initiate_raw(self, object_id: str, content: bytes, **extra: str) -> httpx.Response:
        """The initiate call for `content` (declaring its MD5), whatever it answers."""
        params = {"fileSize": len(content), "md5": md5_hex(content), **extra}
        return self.service.post(f"/upload/{object_id}/uploads", params=params)

    def upload_parts(
        self, object_id: str, spec: dict[str, Any], content: bytes, parts: list[dict[str, Any]]
    ) -> None:
        view = memoryview(content)

        def one(part: dict[str, Any]) -> None:
            body = view[part["offset"] : part["offset"] + part["partSize"]]
            digest = md5_hex(body)
            # score-client sends a part again on an ETag mismatch, and its outer retry loop
            # starts over when the server cannot find the part as sent (moto loses some).
            for _ in range(PART_ATTEMPTS):
                etag = self.put(part["url"], body)
                if etag != digest:
                    continue
                recorded = self.service.post(
                    f"/upload/{object_id}/parts",
                    params={
                        "uploadId": spec["uploadId"],
                        "partNumber": part["partNumber"],
                        "md5": digest,
                        "etag": etag,
                    },
                )
                if recorded.status_code != 400:
                    self.check(recorded)
                    return
            raise AssertionError(
                f"part {part['partNumber']} did not stick in {PART_ATTEMPTS} tries"
            )

        with ThreadPoolExecutor(self.parallel) as pool:
            list(pool.map(one, parts))

    def finalize(self, object_id: str, upload_id: str) -> None:
        self.check(self.service.post(f"/upload/{object_id}", params={"uploadId": upload_id}))

    def download(self, object_id: str, destination: Path) -> dict[str, Any]:
        """Download as score-client does, checking part and whole-file MD5s."""
        self.verify_connection()
        params = {"offset": 0, "length": -1}
        spec = self.check(self.service.get(f"/download/{object_id}", params=params)).json()
        total = sum(part["partSize"] for part in spec["parts"])
        with open(destination, "wb") as handle:
            handle.truncate(total)

        def one(part: dict[str, Any]) -> None:
            last = part["offset"] + part["partSize"] - 1
            response = self.check(
                self.data.get(part["url"], headers={"Range": f"bytes={part['offset']}-{last}"})
            )
            body = response.content
            assert len(body) == part["partSize"]
            if "sourceMd5" in part:
                assert md5_hex(body) == part["sourceMd5"], f"part {part['partNumber']} corrupt"
            with open(destination, "r+b") as handle:
                handle.seek(part["offset"])
                handle.write(body)

        with ThreadPoolExecutor(self.parallel) as pool:
            list(pool.map(one, spec["parts"]))
        if spec["objectMd5"] is not None:
            digest = hashlib.md5(destination.read_bytes(), usedforsecurity=False).hexdigest()
            assert digest == spec["objectMd5"], "whole-file MD5 mismatch"
        return spec
