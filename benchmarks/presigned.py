"""The pre-signed ceiling: a file's parts PUT to, or GET from, a broker's pre-signed URLs with a
plain httpx client, several at a time, with no checks at all (no MD5, no journal, no retries).

    python -m benchmarks.presigned upload BROKER_URL OBJECT_ID FILE [--parallel 6]
    python -m benchmarks.presigned download BROKER_URL OBJECT_ID FILE [--parallel 6]

Only the data movement is timed (the broker calls around it are not); it prints the seconds.
An upload is finished and finalized afterwards, so the object can be downloaded.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import os
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx

SLICE = 1024 * 1024


async def _slices(fd: int, offset: int, size: int) -> AsyncIterator[bytes]:
    end = offset + size
    while offset < end:
        chunk = os.pread(fd, min(SLICE, end - offset), offset)
        offset += len(chunk)
        yield chunk


async def upload(broker: httpx.AsyncClient, object_id: str, path: str, parallel: int) -> float:
    fd = os.open(path, os.O_RDONLY)
    size = os.fstat(fd).st_size
    answer = await broker.post(
        f"/upload/{object_id}/uploads", params={"fileSize": size, "overwrite": "true"}
    )
    answer.raise_for_status()
    spec: dict[str, Any] = answer.json()
    etags: dict[int, str] = {}
    gate = asyncio.Semaphore(parallel)
    async with httpx.AsyncClient(timeout=120, limits=httpx.Limits(max_connections=parallel)) as s3:

        async def put(part: dict[str, Any]) -> None:
            async with gate:
                headers = {"Content-Length": str(part["partSize"])}
                body = _slices(fd, part["offset"], part["partSize"])
                response = await s3.put(part["url"], content=body, headers=headers)
                response.raise_for_status()
                etags[part["partNumber"]] = response.headers["ETag"].strip('"')

        started = time.perf_counter()
        await asyncio.gather(*(put(p) for p in spec["parts"]))
        seconds = time.perf_counter() - started
    for part in spec["parts"]:  # untimed: make the object downloadable
        body = os.pread(fd, part["partSize"], part["offset"])
        md5 = hashlib.md5(body, usedforsecurity=False).hexdigest()
        params = {
            "uploadId": spec["uploadId"],
            "partNumber": part["partNumber"],
            "md5": md5,
            "etag": etags[part["partNumber"]],
        }
        (await broker.post(f"/upload/{object_id}/parts", params=params)).raise_for_status()
    (
        await broker.post(f"/upload/{object_id}", params={"uploadId": spec["uploadId"]})
    ).raise_for_status()
    os.close(fd)
    return seconds


async def download(broker: httpx.AsyncClient, object_id: str, path: str, parallel: int) -> float:
    answer = await broker.get(f"/download/{object_id}", params={"offset": 0, "length": -1})
    answer.raise_for_status()
    spec: dict[str, Any] = answer.json()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    os.ftruncate(fd, int(spec["objectSize"]))
    gate = asyncio.Semaphore(parallel)
    async with httpx.AsyncClient(timeout=120, limits=httpx.Limits(max_connections=parallel)) as s3:

        async def get(part: dict[str, Any]) -> None:
            async with gate:
                first, size = part["offset"], part["partSize"]
                headers = {"Range": f"bytes={first}-{first + size - 1}"}
                async with s3.stream("GET", part["url"], headers=headers) as response:
                    response.raise_for_status()
                    position = first
                    async for chunk in response.aiter_raw():
                        os.pwrite(fd, chunk, position)
                        position += len(chunk)

        started = time.perf_counter()
        await asyncio.gather(*(get(p) for p in spec["parts"]))
        seconds = time.perf_counter() - started
    os.close(fd)
    return seconds


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("direction", choices=("upload", "download"))
    parser.add_argument("broker")
    parser.add_argument("object_id")
    parser.add_argument("file")
    parser.add_argument("--parallel", type=int, default=6)
    parser.add_argument("--token")
    args = parser.parse_args()
    headers = {"Authorization": f"Bearer {args.token}"} if args.token else {}
    async with httpx.AsyncClient(base_url=args.broker, headers=headers, timeout=120) as broker:
        move = upload if args.direction == "upload" else download
        print(f"{await move(broker, args.object_id, args.file, args.parallel):.4f}")


if __name__ == "__main__":
    asyncio.run(main())
