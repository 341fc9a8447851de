"""Upload and download speed of `score-tui --batch` against aws-cli and rclone, and its memory.

In one run, on one throwaway Ceph RGW:
  - score-tui through a broker on that RGW (per-part Content-MD5, ETag checks, the whole-file
    MD5 before finalize and after download: all the client's checks are on);
  - `aws s3 cp` (aws-cli v2) and `rclone copyto` straight to the same RGW with its keys;
  - score-tui through a broker on the local store;
  - the client's peak RSS for a SIZE file and a 4 x SIZE file (local store).
Each figure is the median of --repeats runs; ratios are score-tui's speed over the peer's.

    .venv/bin/python -m benchmarks.transfer [--size-mib 1024] [--repeats 3] [--ceph-endpoint URL]
Needs `apt-get install awscli rclone` (Debian packages) and, without --ceph-endpoint, root for
`scripts/ceph-rgw`.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import boto3
from botocore.config import Config

from tests.conftest import s3_storage
from tests.support.broker import BrokerProcess

ROOT = Path(__file__).resolve().parent.parent
MIB = 1024 * 1024


@dataclass
class Run:
    seconds: float
    peak_rss: int  # bytes


def run_measured(command: list[str], env: dict[str, str]) -> Run:
    """Run a command to completion; its wall time and peak resident memory (GNU time's %M,
    measured from a small parent, not from this process's fork)."""
    with tempfile.NamedTemporaryFile("r") as rss:
        started = time.perf_counter()
        done = subprocess.run(
            ["/usr/bin/time", "-f", "%M", "-o", rss.name, *command],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            stdin=subprocess.DEVNULL,
            text=True,
            check=False,
        )
        seconds = time.perf_counter() - started
        if done.returncode != 0:
            raise RuntimeError(f"{' '.join(command)} failed ({done.returncode}):\n{done.stderr}")
        return Run(seconds, int(rss.read().split()[-1]) * 1024)


@contextmanager
def ceph(endpoint: str | None, workdir: Path) -> Iterator[tuple[str, Path | None]]:
    if endpoint:
        yield endpoint, None
        return
    directory = workdir / "ceph"
    script = ROOT / "scripts" / "ceph-rgw"
    env = {**os.environ, "CEPH_MEMSTORE_BYTES": str(10 * 1024**3)}
    started = subprocess.run(
        [str(script), "start", str(directory)],
        env=env,
        text=True,
        stdout=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        check=True,
    )
    try:
        yield started.stdout.strip().splitlines()[-1], directory
    finally:
        subprocess.run([str(script), "stop", str(directory)], stdin=subprocess.DEVNULL, check=False)


class Bench:
    def __init__(self, args: argparse.Namespace, workdir: Path) -> None:
        self.args = args
        self.workdir = workdir
        self.home = workdir / "user"
        self.base_env = {
            k: v for k, v in os.environ.items() if k not in ("ACCESSTOKEN", "AWS_CA_BUNDLE")
        }
        self.base_env.update(
            XDG_STATE_HOME=str(self.home / "state"),
            XDG_CONFIG_HOME=str(self.home / "config"),
            PYTHON_KEYRING_BACKEND="keyring.backends.null.Keyring",
        )

    def file_of(self, size: int, name: str) -> tuple[Path, str]:
        path = self.workdir / name
        digest = hashlib.md5(usedforsecurity=False)
        with open(path, "wb") as handle:
            left = size
            while left:
                chunk = os.urandom(min(64 * MIB, left))
                digest.update(chunk)
                handle.write(chunk)
                left -= len(chunk)
        return path, digest.hexdigest()

    def tui(self, broker: BrokerProcess, *args: str) -> Run:
        command = [
            sys.executable,
            "-m",
            "score_tui",
            "--batch",
            "--quiet",
            "--server-url",
            broker.url,
            *args,
        ]
        return run_measured(command, self.base_env)

    def tui_round_trip(
        self, broker: BrokerProcess, path: Path, md5: str, *download_options: str
    ) -> tuple[Run, Run]:
        object_id = str(uuid.uuid4())
        up = self.tui(broker, "upload", "--object-id", object_id, "--file", str(path), "--md5", md5)
        out = self.workdir / f"down-{object_id}"
        down = self.tui(
            broker, "download", "--object-id", object_id, "--output-dir", str(out),
            "--output-layout", "id", "--index", "false", *download_options,
        )  # fmt: skip
        shutil.rmtree(out)
        return up, down


def median(runs: list[Run]) -> float:
    return statistics.median(r.seconds for r in runs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--size-mib", type=int, default=1024)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--ceph-endpoint")
    args = parser.parse_args()
    size = args.size_mib * MIB
    for tool in ("/usr/bin/aws", "rclone", "/usr/bin/time"):
        if not shutil.which(tool):
            sys.exit(f"{tool} is missing: apt-get install -y awscli rclone time")

    with tempfile.TemporaryDirectory(prefix="score-bench-") as tmp, \
            ceph(args.ceph_endpoint, Path(tmp)) as (endpoint, ceph_dir):  # fmt: skip
        workdir = Path(tmp)
        bench = Bench(args, workdir)
        path, md5 = bench.file_of(size, "data.bin")
        bucket = f"bench-{uuid.uuid4().hex[:8]}"
        s3 = boto3.client(
            "s3",
            endpoint_url=endpoint,
            region_name="us-east-1",
            aws_access_key_id="test",
            aws_secret_access_key="test",
            config=Config(signature_version="s3v4", s3={"addressing_style": "path"}),
        )
        s3.create_bucket(Bucket=bucket)

        def clean() -> None:
            listed = s3.list_objects_v2(Bucket=bucket).get("Contents", [])
            for item in listed:
                if item["Key"].endswith("heliograph"):  # the broker's sentinel for pings
                    continue
                s3.delete_object(Bucket=bucket, Key=item["Key"])
            if ceph_dir is not None:
                subprocess.run(
                    [str(ROOT / "scripts" / "ceph-rgw"), "gc", str(ceph_dir)],
                    check=False,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )

        ceph_storage = s3_storage(endpoint, bucket)
        local_storage = {"backend": "local", "local": {"directory": str(workdir / "store")}}
        brokers = {
            name: BrokerProcess(
                {
                    "server": {
                        "log_level": "warning",
                        "access_log": False,
                        "data_directory": str(workdir / f"data-{name}"),
                    },
                    "storage": storage,
                    "song": {"url": "none"},
                    "auth": {"enabled": False},
                },
                workdir / "brokers",
            ).start()
            for name, storage in (("ceph", ceph_storage), ("local", local_storage))
        }
        aws_env = {
            **bench.base_env,
            "AWS_ACCESS_KEY_ID": "test",
            "AWS_SECRET_ACCESS_KEY": "test",
            "AWS_DEFAULT_REGION": "us-east-1",
        }
        rclone_env = {
            **bench.base_env,
            "RCLONE_CONFIG_RGW_TYPE": "s3",
            "RCLONE_CONFIG_RGW_PROVIDER": "Ceph",
            "RCLONE_CONFIG_RGW_ENDPOINT": endpoint,
            "RCLONE_CONFIG_RGW_ACCESS_KEY_ID": "test",
            "RCLONE_CONFIG_RGW_SECRET_ACCESS_KEY": "test",
        }
        aws = ["/usr/bin/aws", "--endpoint-url", endpoint, "--only-show-errors", "s3", "cp"]
        got = workdir / "got.bin"
        results: dict[str, dict[str, list[Run]]] = {}
        try:
            for _ in range(args.repeats):
                for name, up_cmd, down_cmd, env in (
                    (
                        "aws s3 cp",
                        [*aws, str(path), f"s3://{bucket}/aws"],
                        [*aws, f"s3://{bucket}/aws", str(got)],
                        aws_env,
                    ),
                    (
                        "rclone",
                        ["rclone", "copyto", str(path), f"rgw:{bucket}/rclone"],
                        ["rclone", "copyto", f"rgw:{bucket}/rclone", str(got)],
                        rclone_env,
                    ),
                ):
                    runs = results.setdefault(name, {"up": [], "down": []})
                    runs["up"].append(run_measured(up_cmd, env))
                    runs["down"].append(run_measured(down_cmd, env))
                    got.unlink()
                    clean()
                for name, broker, options in (
                    ("score-tui (Ceph)", brokers["ceph"], ()),
                    ("  --validate false", brokers["ceph"], ("--validate", "false")),
                    ("score-tui (local)", brokers["local"], ()),
                ):
                    up, down = bench.tui_round_trip(broker, path, md5, *options)
                    runs = results.setdefault(name, {"up": [], "down": []})
                    runs["up"].append(up)
                    runs["down"].append(down)
                    clean()
            big, big_md5 = bench.file_of(4 * size, "big.bin")
            rss_small = results["score-tui (local)"]
            rss_big_up, rss_big_down = bench.tui_round_trip(brokers["local"], big, big_md5)
        finally:
            for broker in brokers.values():
                broker.stop()

    mb = size / 1e6
    ours = results["score-tui (Ceph)"]
    print(f"\nSize {args.size_mib} MiB, median of {args.repeats} runs, Ceph RGW at {endpoint}\n")
    print(
        f"| {'tool':<18} | {'up MB/s':>8} | {'down MB/s':>9} | {'up ratio':>8} | "
        f"{'down ratio':>10} |"
    )
    print(f"|{'-' * 20}|{'-' * 10}|{'-' * 11}|{'-' * 10}|{'-' * 12}|")
    for name, runs in results.items():
        up, down = median(runs["up"]), median(runs["down"])
        ratio_up = up / median(ours["up"])
        ratio_down = down / median(ours["down"])
        print(
            f"| {name:<18} | {mb / up:>8.0f} | {mb / down:>9.0f} | "
            f"{ratio_up:>7.2f}x | {ratio_down:>9.2f}x |"
        )
    print("\nratio = that tool's time / score-tui's time on Ceph (above 1: score-tui is faster);")
    print("`--validate false`: the same, without the whole-file MD5 of downloads")
    peak = lambda runs: max(r.peak_rss for r in runs) / 1e6  # noqa: E731
    print("\n| client peak RSS (local store) | upload MB | download MB |")
    print("|-------------------------------|-----------|-------------|")
    print(
        f"| {args.size_mib} MiB{'':<22} | {peak(rss_small['up']):>9.0f} | "
        f"{peak(rss_small['down']):>11.0f} |"
    )
    print(
        f"| {4 * args.size_mib} MiB{'':<21} | {rss_big_up.peak_rss / 1e6:>9.0f} | "
        f"{rss_big_down.peak_rss / 1e6:>11.0f} |"
    )


if __name__ == "__main__":
    main()
