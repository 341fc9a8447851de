"""How fast the broker builds specs, on each store.

For every backend (local, moto, Ceph RGW) it measures, through a broker process over HTTP:
  - the upload spec of a 10,000-part object (initiate, 10,000 signed PUT URLs);
  - the download spec of a 10,000-part object (final .meta read, 10,000 signed ranged GETs);
  - specs per second for small objects with 32 concurrent clients (download and upload specs).
The peer is botocore's own pre-signer making the same 10,000 URLs in-process: what a broker
built on the SDK's signer pays before any HTTP at all.

    .venv/bin/python -m benchmarks.spec_building [--ceph-endpoint URL | --no-ceph]
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import logging
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import boto3
import httpx
from botocore.config import Config
from moto.server import ThreadedMotoServer

from score_broker.app import build_services
from score_broker.config import Settings
from score_broker.services.models import ObjectSpecification, Part
from score_broker.services.planner import MIN_PART_SIZE, PartPlanner
from tests.support.broker import BrokerProcess

ROOT = Path(__file__).resolve().parent.parent
PARTS = 10_000
BIG = PARTS * MIN_PART_SIZE
REPEATS = 3


def median_seconds(action: Callable[[], Any]) -> float:
    times = []
    for _ in range(REPEATS):
        started = time.perf_counter()
        action()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def botocore_presign_seconds() -> float:
    client = boto3.client(
        "s3",
        endpoint_url="http://127.0.0.1:7480",
        region_name="us-east-1",
        aws_access_key_id="test",
        aws_secret_access_key="test",
        config=Config(signature_version="s3v4", s3={"addressing_style": "path"}),
    )

    def sign_all() -> None:
        for number in range(1, PARTS + 1):
            client.generate_presigned_url(
                "upload_part",
                Params={"Bucket": "b", "Key": "data/x", "UploadId": "u", "PartNumber": number},
                ExpiresIn=3600,
            )

    return median_seconds(sign_all)


def seed_big_object(storage: dict[str, Any], workdir: Path) -> str:
    """Write the final spec of a 10,000-part object straight into the store's state."""
    settings = {
        "server": {"data_directory": str(workdir / "seed-data")},
        "storage": storage,
        "song": {"url": "none"},
        "auth": {"enabled": False},
    }
    services = build_services(Settings.model_validate(settings))
    object_id = str(uuid.uuid4())
    parts = [
        Part(p.number, p.size, p.offset, source_md5="0" * 32) for p in PartPlanner().divide(0, BIG)
    ]
    spec = ObjectSpecification(f"data/{object_id}", object_id, "seeded", parts, BIG, "0" * 32)
    services.uploads.state.save_final(spec)
    return object_id


async def specs_per_second(
    url: str, paths: list[tuple[str, str, dict[str, Any]]], clients: int, seconds: float
) -> float:
    done = 0
    deadline = time.perf_counter() + seconds

    async def worker(index: int) -> None:
        nonlocal done
        async with httpx.AsyncClient(base_url=url, timeout=30) as client:
            i = index
            while time.perf_counter() < deadline:
                method, path, params = paths[i % len(paths)]
                response = await client.request(method, path, params=params)
                response.raise_for_status()
                done += 1
                i += clients

    started = time.perf_counter()
    await asyncio.gather(*(worker(i) for i in range(clients)))
    return done / (time.perf_counter() - started)


def measure(
    name: str, storage: dict[str, Any], workdir: Path, clients: int, seconds: float
) -> dict[str, Any]:
    config = {
        "server": {"access_log": False, "data_directory": str(workdir / f"data-{name}")},
        "storage": storage,
        # The spec path itself: no Song lookups, no token checks.
        "song": {"url": "none"},
        "auth": {"enabled": False},
    }
    broker = BrokerProcess(config, workdir).start()
    try:
        http = httpx.Client(base_url=broker.url, timeout=300)
        big = seed_big_object(storage, workdir)

        def upload_spec() -> None:
            params = {"fileSize": BIG, "overwrite": "true"}
            spec = http.post(f"/upload/{uuid.uuid4()}/uploads", params=params)
            spec.raise_for_status()
            assert len(spec.json()["parts"]) == PARTS

        def download_spec() -> None:
            spec = http.get(f"/download/{big}", params={"offset": 0, "length": -1})
            spec.raise_for_status()
            assert len(spec.json()["parts"]) == PARTS

        up = median_seconds(upload_spec)
        down = median_seconds(download_spec)

        small = []
        for _ in range(clients):
            object_id = str(uuid.uuid4())
            spec = http.post(f"/upload/{object_id}/uploads", params={"fileSize": 1000}).json()
            part = spec["parts"][0]
            httpx.put(part["url"], content=b"x" * 1000).raise_for_status()
            md5 = hashlib.md5(b"x" * 1000, usedforsecurity=False).hexdigest()
            http.post(
                f"/upload/{object_id}/parts",
                params={"uploadId": spec["uploadId"], "partNumber": 1, "md5": md5, "etag": md5},
            ).raise_for_status()
            http.post(
                f"/upload/{object_id}", params={"uploadId": spec["uploadId"]}
            ).raise_for_status()
            small.append(object_id)
        downloads = [("GET", f"/download/{o}", {"offset": 0, "length": -1}) for o in small]
        uploads = [("POST", f"/upload/{uuid.uuid4()}/uploads", {"fileSize": 1000}) for _ in small]
        down_rate = asyncio.run(specs_per_second(broker.url, downloads, clients, seconds))
        up_rate = asyncio.run(specs_per_second(broker.url, uploads, clients, seconds))
        http.close()
        return {"backend": name, "up": up, "down": down, "down_rate": down_rate, "up_rate": up_rate}
    finally:
        broker.stop()


@contextmanager
def ceph(endpoint: str | None, enabled: bool) -> Iterator[str | None]:
    if not enabled or endpoint:
        yield endpoint
        return
    with tempfile.TemporaryDirectory() as directory:
        script = ROOT / "scripts" / "ceph-rgw"
        try:
            started = subprocess.run(
                [str(script), "start", directory], stdout=subprocess.PIPE, text=True, check=True
            )
            yield started.stdout.strip().splitlines()[-1]
        finally:
            subprocess.run([str(script), "stop", directory], check=False)


def s3_storage(endpoint: str) -> dict[str, Any]:
    bucket = f"bench-{uuid.uuid4().hex[:10]}"
    return {
        "backend": "s3",
        "s3": {
            "endpoint_url": endpoint,
            "data_bucket": bucket,
            "create_buckets": True,
            "access_key": "test",
            "secret_key": "test",
        },
    }


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--ceph-endpoint", help="use this running Ceph RGW (keys test/test)")
    parser.add_argument("--no-ceph", action="store_true", help="skip Ceph RGW")
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--seconds", type=float, default=5.0)
    args = parser.parse_args()
    logging.getLogger("werkzeug").setLevel(logging.WARNING)

    peer = botocore_presign_seconds()
    rows = []
    with tempfile.TemporaryDirectory() as work:
        workdir = Path(work)
        local = {"backend": "local", "local": {"directory": str(workdir / "store")}}
        rows.append(measure("local", local, workdir, args.clients, args.seconds))
        moto = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        moto.start()
        host, port = moto.get_host_and_port()
        try:
            rows.append(
                measure(
                    "moto", s3_storage(f"http://{host}:{port}"), workdir, args.clients, args.seconds
                )
            )
        finally:
            moto.stop()
        with ceph(args.ceph_endpoint, not args.no_ceph) as endpoint:
            if endpoint:
                rows.append(
                    measure("ceph-rgw", s3_storage(endpoint), workdir, args.clients, args.seconds)
                )

    print(
        f"\nSpec building, {PARTS:,}-part object (median of {REPEATS}); "
        f"peer: botocore presign of {PARTS:,} URLs in-process = {peer:.3f} s"
    )
    print(
        f"Small-object specs per second with {args.clients} concurrent clients over "
        f"{args.seconds:.0f} s (clients, broker and store share this machine's cores)\n"
    )
    header = (
        "backend",
        "upload spec s",
        "vs botocore",
        "download spec s",
        "vs botocore",
        "download specs/s",
        "upload specs/s",
    )
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    for row in rows:
        cells = [
            row["backend"],
            f"{row['up']:.3f}",
            f"{row['up'] / peer:.2f}x",
            f"{row['down']:.3f}",
            f"{row['down'] / peer:.2f}x",
            f"{row['down_rate']:.0f}",
            f"{row['up_rate']:.0f}",
        ]
        print("| " + " | ".join(cells) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
