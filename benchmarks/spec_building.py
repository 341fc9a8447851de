"""How fast the broker answers, on each store.

For every backend (local, moto, Ceph RGW) it measures, through a broker process over HTTP:
  - the upload spec of a 10,000-part object (initiate, 10,000 signed PUT URLs);
  - the download spec of a 10,000-part object (final .meta read, 10,000 signed ranged GETs);
  - requests per second with 32 concurrent clients: download specs of small objects, and
    initiates of new uploads. The load comes from wrk (C, one process), which leaves the
    machine's cores to the broker and its store; a Python load generator took as much CPU as
    the broker it was measuring;
  - the time of a one-part upload's broker calls (initiate, finish-part, finalize), one upload
    after another, p50 and p90.
The peer is botocore's own pre-signer making the same 10,000 URLs in-process: what a broker
built on the SDK's signer pays before any HTTP at all.

    .venv/bin/python -m benchmarks.spec_building [--ceph-endpoint URL | --no-ceph]
Needs `apt-get install wrk`.
"""

from __future__ import annotations

import argparse
import hashlib
import logging
import shutil
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


WRK_SCRIPT = """
local paths = {}
local count = 0
function init(args)
  for line in io.lines(args[1]) do
    paths[#paths + 1] = line
  end
end
function request()
  count = count + 1
  local line = paths[(count * 7919 + id) % #paths + 1]
  local method, path = line:match("(%S+) (%S+)")
  return wrk.format(method, path)
end
"""
WRK_SETUP = """
local thread_id = 0
function setup(thread)
  thread_id = thread_id + 1
  thread:set("id", thread_id)
end
"""


def requests_per_second(
    url: str, requests: list[str], clients: int, seconds: float, workdir: Path
) -> float:
    """wrk with `clients` connections over `seconds`, cycling through `requests`
    ("METHOD /path?query" each); the rate of answers, which must all be 2xx."""
    listing = workdir / f"requests-{uuid.uuid4().hex}.txt"
    listing.write_text("\n".join(requests) + "\n")
    script = workdir / "requests.lua"
    script.write_text(WRK_SETUP + WRK_SCRIPT)
    done = subprocess.run(
        [
            "wrk",
            "-t2",
            f"-c{clients}",
            f"-d{seconds:g}s",
            "-s",
            str(script),
            url,
            "--",
            str(listing),
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    if "Non-2xx" in done.stdout:
        raise RuntimeError(f"the broker refused requests:\n{done.stdout}")
    return float(done.stdout.split("Requests/sec:")[1].split()[0])


def call_times(http: httpx.Client, uploads: int) -> dict[str, tuple[float, float]]:
    """p50 and p90 milliseconds of a one-part upload's broker calls, one upload at a time."""
    data = b"x" * 1000
    md5 = hashlib.md5(data, usedforsecurity=False).hexdigest()
    times: dict[str, list[float]] = {"initiate": [], "finish-part": [], "finalize": []}
    for _ in range(uploads):
        object_id = str(uuid.uuid4())
        started = time.perf_counter()
        spec = http.post(f"/upload/{object_id}/uploads", params={"fileSize": 1000, "md5": md5})
        times["initiate"].append(time.perf_counter() - started)
        spec.raise_for_status()
        part = spec.json()["parts"][0]
        etag = httpx.put(part["url"], content=data).headers.get("ETag", md5).strip('"')
        params = {"uploadId": spec.json()["uploadId"], "partNumber": 1, "md5": md5, "etag": etag}
        started = time.perf_counter()
        http.post(f"/upload/{object_id}/parts", params=params).raise_for_status()
        times["finish-part"].append(time.perf_counter() - started)
        started = time.perf_counter()
        http.post(
            f"/upload/{object_id}", params={"uploadId": params["uploadId"]}
        ).raise_for_status()
        times["finalize"].append(time.perf_counter() - started)
    return {
        name: (1000 * statistics.median(values), 1000 * sorted(values)[int(len(values) * 0.9)])
        for name, values in times.items()
    }


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
        downloads = [f"GET /download/{o}?offset=0&length=-1" for o in small]
        uploads = [f"POST /upload/{uuid.uuid4()}/uploads?fileSize=1000" for _ in range(200_000)]
        down_rate = requests_per_second(broker.url, downloads, clients, seconds, workdir)
        up_rate = requests_per_second(broker.url, uploads, clients, seconds, workdir)
        calls = call_times(http, 50)
        http.close()
        return {
            "backend": name,
            "up": up,
            "down": down,
            "down_rate": down_rate,
            "up_rate": up_rate,
            "calls": calls,
        }
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
    if not shutil.which("wrk"):
        sys.exit("wrk is missing: apt-get install -y wrk")
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
        f"Requests per second with {args.clients} concurrent clients (wrk) over "
        f"{args.seconds:.0f} s (load, broker and store share this machine's cores)\n"
    )
    header = (
        "backend",
        "upload spec s",
        "vs botocore",
        "download spec s",
        "vs botocore",
        "download specs/s",
        "initiates/s",
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
    print("\nA one-part upload's broker calls, one upload after another (50 uploads), ms\n")
    print("| backend | initiate p50 / p90 | finish-part p50 / p90 | finalize p50 / p90 |")
    print("|---|---|---|---|")
    for row in rows:
        cells = [f"{p50:.1f} / {p90:.1f}" for p50, p90 in row["calls"].values()]
        print(f"| {row['backend']} | " + " | ".join(cells) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
