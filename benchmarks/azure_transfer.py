"""Upload and download speed of `score-tui --batch` on Azure (Azurite) against the Azure SDK.

In one run, on one Azurite: score-tui through a broker on the `azure` store (blocks with
Content-MD5, the whole-file MD5 before finalize and after download), and azure-storage-blob's
own parallel `upload_blob` / `download_blob` (same concurrency) straight to Azurite.

    .venv/bin/python -m benchmarks.azure_transfer [--size-mib 1024] [--repeats 3]
Needs Azurite under .test-services/ (`scripts/azurite-install`).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

from azure.storage.blob import BlobClient, BlobServiceClient

from benchmarks.transfer import MIB, run_measured, write_file
from tests.conftest import azure_storage
from tests.support.azurite import ACCOUNT, KEY, running_azurite
from tests.support.broker import BrokerProcess

CONCURRENCY = 6


def timed(action) -> float:  # type: ignore[no-untyped-def]
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


def tui_round_trip(
    broker: BrokerProcess, workdir: Path, path: Path, md5: str
) -> tuple[float, float]:
    """score-tui's upload and download times of `path` through the broker."""
    home = workdir / "user"
    env = {k: v for k, v in os.environ.items() if k != "ACCESSTOKEN"}
    env |= {"XDG_STATE_HOME": str(home / "state"), "XDG_CONFIG_HOME": str(home / "config"),
            "PYTHON_KEYRING_BACKEND": "keyring.backends.null.Keyring"}  # fmt: skip
    batch = [sys.executable, "-m", "score_tui", "--batch", "--quiet", "--server-url", broker.url]
    object_id = str(uuid.uuid4())
    out = workdir / f"down-{object_id}"
    up = run_measured([*batch, "upload", "--object-id", object_id, "--file", str(path),
                       "--md5", md5], env)  # fmt: skip
    down = run_measured([*batch, "download", "--object-id", object_id, "--output-dir", str(out),
                         "--output-layout", "id", "--index", "false"], env)  # fmt: skip
    shutil.rmtree(out)
    return up.seconds, down.seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--size-mib", type=int, default=1024)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    size = args.size_mib * MIB
    with (
        tempfile.TemporaryDirectory(prefix="score-azure-bench-") as tmp,
        running_azurite(Path(tmp) / "azurite") as endpoint,
    ):
        workdir = Path(tmp)
        path = workdir / "data.bin"
        md5 = write_file(path, size)
        container = f"bench-{uuid.uuid4().hex[:8]}"
        storage = azure_storage(endpoint, container)
        broker = BrokerProcess(
            {"server": {"log_level": "warning", "access_log": False,
                        "data_directory": str(workdir / "data")},
             "storage": storage, "song": {"url": "none"}, "auth": {"enabled": False}},
            workdir / "brokers",
        ).start()  # fmt: skip
        service = BlobServiceClient(
            endpoint, credential={"account_name": ACCOUNT, "account_key": KEY}
        )
        blobs = service.get_container_client(container)
        got = workdir / "got.bin"
        sdk_up: list[float] = []
        sdk_down: list[float] = []
        ours = {"up": [], "down": []}  # type: ignore[var-annotated]
        try:
            for _ in range(args.repeats):
                blob = blobs.get_blob_client(f"sdk-{uuid.uuid4().hex}")

                def upload(blob: BlobClient = blob) -> None:
                    with open(path, "rb") as source:
                        blob.upload_blob(source, overwrite=True, max_concurrency=CONCURRENCY,
                                         length=size)  # fmt: skip

                def download(blob: BlobClient = blob) -> None:
                    with open(got, "wb") as target:
                        blob.download_blob(max_concurrency=CONCURRENCY).readinto(target)

                sdk_up.append(timed(upload))
                sdk_down.append(timed(download))
                got.unlink()
                blob.delete_blob()
                up, down = tui_round_trip(broker, workdir, path, md5)
                ours["up"].append(up)
                ours["down"].append(down)
        finally:
            broker.stop()

    mb = size / 1e6
    our_up, our_down = statistics.median(ours["up"]), statistics.median(ours["down"])
    print(f"\nSize {args.size_mib} MiB, median of {args.repeats} runs, Azurite {endpoint}\n")
    print("| tool | up MB/s | down MB/s | up: SDK time / ours | down: SDK time / ours |")
    print("|---|---|---|---|---|")
    up, down = statistics.median(sdk_up), statistics.median(sdk_down)
    print(
        f"| azure-storage-blob ({CONCURRENCY} parallel) | {mb / up:.0f} | {mb / down:.0f} "
        f"| {up / our_up:.2f}x | {down / our_down:.2f}x |"
    )
    print(f"| score-tui | {mb / our_up:.0f} | {mb / our_down:.0f} | 1.00x | 1.00x |")


if __name__ == "__main__":
    main()
