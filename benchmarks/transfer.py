"""Speed and memory of `score-tui --batch` against aws-cli, on one Ceph RGW, in one run.

Big files (the default):
  - aws-cli v2 (`aws s3 cp`, multipart defaults) straight to the RGW with its keys;
  - the pre-signed ceiling (`benchmarks.presigned`): the broker's part URLs, PUT and GET with
    plain httpx, 6 at a time, no checks at all;
  - score-tui through a broker on the same RGW, with every check: Content-MD5 on every part,
    each part's ETag, the whole-file MD5 before finalize and after download, the journal,
    nothing at the target before it is verified;
  - score-tui through a broker on the local store (the embedded default), against the
    machine's two-pass MD5 ceiling (the time to MD5 the file twice in one thread);
  - the client's peak RSS for a SIZE file and a 4 x SIZE file.
Small files (`--small-files`): 300 x 64 KiB, 2,000 x 16 KiB and a mix (one SIZE file and 500
x 64 KiB), uploaded with `aws s3 cp --recursive` and with score-tui's one-step upload
(`upload --study S --file ...`: Song registration included), then downloaded with
`aws s3 cp --recursive` and `score-tui download --analysis-id A --study-id S`; and the broker's
own time for a one-part upload's calls (initiate, finish-part, finalize), from its access log.

Each figure is the median of --repeats rounds; the tools take turns within a round, and RGW's
garbage collection runs between them. A ratio is the peer's time over score-tui's (above 1:
score-tui is faster).

    .venv/bin/python -m benchmarks.transfer [--size-mib 1024] [--repeats 3] [--ceph-endpoint URL]
    .venv/bin/python -m benchmarks.transfer --small-files [--repeats 3] [--ceph-endpoint URL]
Needs `apt-get install awscli time` and, without --ceph-endpoint, root for `scripts/ceph-rgw`.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import boto3
import httpx
from botocore.config import Config

from tests.conftest import s3_storage
from tests.support.broker import BrokerProcess

ROOT = Path(__file__).resolve().parent.parent
MIB = 1024 * 1024
AWS = "/usr/bin/aws"


@dataclass
class Run:
    seconds: float
    peak_rss: int = 0  # bytes
    cpu: float = 0.0  # the command's user + system seconds
    machine_cpu: float = 0.0  # busy core-seconds of the whole machine (tool, broker, RGW, OSD)


@dataclass
class Results:
    runs: dict[str, list[Run]] = field(default_factory=dict)

    def add(self, name: str, run: Run) -> None:
        self.runs.setdefault(name, []).append(run)

    def median(self, name: str) -> float:
        return statistics.median(r.seconds for r in self.runs[name])

    def peak(self, name: str) -> int:
        return max(r.peak_rss for r in self.runs[name])

    def cpu(self, name: str) -> tuple[float, float]:
        """Median CPU seconds of the tool, and of the whole machine, over the runs."""
        runs = self.runs[name]
        return statistics.median(r.cpu for r in runs), statistics.median(
            r.machine_cpu for r in runs
        )


def busy_core_seconds() -> float:
    """Core-seconds the machine has spent not idle since boot (/proc/stat)."""
    with open("/proc/stat") as stat:
        fields = [int(v) for v in stat.readline().split()[1:]]
    idle = fields[3] + fields[4]  # idle, iowait
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def run_measured(command: list[str], env: dict[str, str], cwd: Path | None = None) -> Run:
    """Run a command to completion: its wall time, peak resident memory and CPU time (GNU
    time), and the whole machine's CPU time meanwhile."""
    with tempfile.NamedTemporaryFile("r") as rss:
        busy = busy_core_seconds()
        started = time.perf_counter()
        done = subprocess.run(
            ["/usr/bin/time", "-f", "%M %U %S", "-o", rss.name, *command],
            env=env,
            cwd=cwd,
            capture_output=True,
            stdin=subprocess.DEVNULL,
            text=True,
            check=False,
        )
        seconds = time.perf_counter() - started
        machine = busy_core_seconds() - busy
        if done.returncode != 0:
            raise RuntimeError(f"{' '.join(command[:6])} ... failed ({done.returncode}):\n"
                               f"{done.stderr[-3000:]}")  # fmt: skip
        peak, user, system = rss.read().split()[-3:]
        return Run(seconds, int(peak) * 1024, float(user) + float(system), machine)


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


def write_file(path: Path, size: int) -> str:
    """A file of random bytes; its MD5."""
    digest = hashlib.md5(usedforsecurity=False)
    with open(path, "wb") as handle:
        left = size
        while left:
            chunk = os.urandom(min(64 * MIB, left))
            digest.update(chunk)
            handle.write(chunk)
            left -= len(chunk)
    return digest.hexdigest()


def md5_seconds(path: Path) -> float:
    """One MD5 pass over a file in the page cache, in one thread."""
    started = time.perf_counter()
    digest = hashlib.md5(usedforsecurity=False)
    with open(path, "rb") as handle:
        while chunk := handle.read(8 * MIB):
            digest.update(chunk)
    return time.perf_counter() - started


class Bench:
    """The tools, the brokers and the store of one benchmark run."""

    def __init__(self, workdir: Path, endpoint: str, ceph_dir: Path | None) -> None:
        self.workdir = workdir
        self.endpoint = endpoint
        self.ceph_dir = ceph_dir
        self.bucket = f"bench-{uuid.uuid4().hex[:8]}"
        home = workdir / "user"
        base = {k: v for k, v in os.environ.items() if k not in ("ACCESSTOKEN", "AWS_CA_BUNDLE")}
        self.tui_env = {
            **base,
            "XDG_STATE_HOME": str(home / "state"),
            "XDG_CONFIG_HOME": str(home / "config"),
            "PYTHON_KEYRING_BACKEND": "keyring.backends.null.Keyring",
        }
        self.aws_env = {
            **base,
            "AWS_ACCESS_KEY_ID": "test",
            "AWS_SECRET_ACCESS_KEY": "test",
            "AWS_DEFAULT_REGION": "us-east-1",
        }
        self.s3 = boto3.client(
            "s3",
            endpoint_url=endpoint,
            region_name="us-east-1",
            aws_access_key_id="test",
            aws_secret_access_key="test",
            config=Config(signature_version="s3v4", s3={"addressing_style": "path"}),
        )
        self.s3.create_bucket(Bucket=self.bucket)
        self.brokers: dict[str, BrokerProcess] = {}

    def start_broker(self, name: str, storage: dict[str, object], song: bool) -> BrokerProcess:
        # The Song broker logs every request (the default), to time its calls from the log.
        level = "info" if song else "warning"
        config = {
            "server": {"log_level": level, "data_directory": str(self.workdir / f"d-{name}")},
            "storage": storage,
            "song": {"url": "embedded" if song else "none"},
            "auth": {"enabled": song},
        }
        broker = BrokerProcess(config, self.workdir / "brokers").start()
        self.brokers[name] = broker
        return broker

    def token(self, name: str) -> str:
        return (self.workdir / f"d-{name}" / "admin-key").read_text().strip()

    def stop(self) -> None:
        for broker in self.brokers.values():
            broker.stop()

    # -- the tools -----------------------------------------------------------------------------

    def aws(self, *args: str) -> Run:
        command = [AWS, "--endpoint-url", self.endpoint, "--only-show-errors", "s3", *args]
        return run_measured(command, self.aws_env)

    def tui(self, broker: BrokerProcess, *args: str, token: str | None = None) -> Run:
        command = [sys.executable, "-m", "score_tui", "--batch", "--quiet"]
        command += ["--server-url", broker.url, *args]
        env = {**self.tui_env, **({"ACCESSTOKEN": token} if token else {})}
        return run_measured(command, env)

    def presigned(self, broker: BrokerProcess, direction: str, object_id: str, path: Path) -> Run:
        command = [sys.executable, "-m", "benchmarks.presigned", direction, broker.url]
        command += [object_id, str(path)]
        done = subprocess.run(
            command, env=self.tui_env, cwd=ROOT, capture_output=True, text=True, check=True
        )
        return Run(float(done.stdout.strip().splitlines()[-1]))

    def clean(self) -> None:
        """Empty the buckets (but the brokers' sentinel) and let RGW free the space."""
        paginator = self.s3.get_paginator("list_objects_v2")
        for bucket in (self.bucket, f"{self.bucket}.state"):
            try:
                pages = list(paginator.paginate(Bucket=bucket))
            except self.s3.exceptions.NoSuchBucket:
                continue
            keys = [
                {"Key": item["Key"]}
                for page in pages
                for item in page.get("Contents", [])
                if not item["Key"].endswith("heliograph")
            ]
            for start in range(0, len(keys), 1000):
                self.s3.delete_objects(
                    Bucket=bucket, Delete={"Objects": keys[start : start + 1000]}
                )
        if self.ceph_dir is not None:
            subprocess.run(
                [str(ROOT / "scripts" / "ceph-rgw"), "gc", str(self.ceph_dir)],
                check=False,
                capture_output=True,
            )


def big_files(bench: Bench, size_mib: int, repeats: int) -> None:
    size = size_mib * MIB
    path = bench.workdir / "data.bin"
    md5 = write_file(path, size)
    ceph_broker = bench.start_broker("ceph", s3_storage(bench.endpoint, bench.bucket), False)
    local_store = {"backend": "local", "local": {"directory": str(bench.workdir / "store")}}
    local_broker = bench.start_broker("local", local_store, False)
    got = bench.workdir / "got"
    results = Results()

    def tui_round_trip(name: str, broker: BrokerProcess, source: Path, digest: str) -> None:
        object_id = str(uuid.uuid4())
        results.add(f"{name} up", bench.tui(broker, "upload", "--object-id", object_id,
                                             "--file", str(source), "--md5", digest))  # fmt: skip
        out = bench.workdir / f"down-{object_id}"
        results.add(f"{name} down", bench.tui(broker, "download", "--object-id", object_id,
                                               "--output-dir", str(out), "--output-layout", "id",
                                               "--index", "false"))  # fmt: skip
        shutil.rmtree(out)

    def aws_round_trip() -> None:
        results.add("aws up", bench.aws("cp", str(path), f"s3://{bench.bucket}/aws"))
        results.add("aws down", bench.aws("cp", f"s3://{bench.bucket}/aws", str(got)))
        got.unlink()

    def ceiling_round_trip() -> None:
        object_id = str(uuid.uuid4())
        results.add("ceiling up", bench.presigned(ceph_broker, "upload", object_id, path))
        results.add("ceiling down", bench.presigned(ceph_broker, "download", object_id, got))
        got.unlink()

    tools = [
        aws_round_trip,
        ceiling_round_trip,
        lambda: tui_round_trip("tui", ceph_broker, path, md5),
        lambda: tui_round_trip("local", local_broker, path, md5),
        lambda: results.add("md5", Run(md5_seconds(path) + md5_seconds(path))),
    ]
    tools[0]()  # warm-up: the first pass over fresh memory is slow on some virtual machines
    bench.clean()
    results.runs.clear()
    for round_ in range(repeats):
        for tool in tools[round_ % len(tools) :] + tools[: round_ % len(tools)]:
            tool()
            bench.clean()
    big = bench.workdir / "big.bin"
    big_md5 = write_file(big, 4 * size)
    tui_round_trip("local 4x", local_broker, big, big_md5)
    big.unlink()

    mb = size / 1e6
    speed = lambda name: mb / results.median(name)  # noqa: E731
    print(f"\n{size_mib} MiB, median of {repeats} rounds, Ceph RGW at {bench.endpoint}\n")
    print("| tool | up MB/s | down MB/s | up: aws time / ours | down: aws time / ours |")
    print("|---|---|---|---|---|")
    for label, name in (
        ("aws s3 cp", "aws"),
        ("pre-signed ceiling (httpx, no checks)", "ceiling"),
        ("**score-tui, every check**", "tui"),
    ):
        up = results.median("aws up") / results.median(f"{name} up")
        down = results.median("aws down") / results.median(f"{name} down")
        print(f"| {label} | {speed(f'{name} up'):.0f} | {speed(f'{name} down'):.0f} | "
              f"{up:.2f}x | {down:.2f}x |")  # fmt: skip
    up = results.median("ceiling up") / results.median("tui up")
    down = results.median("ceiling down") / results.median("tui down")
    print(f"\nscore-tui against the ceiling: up {up:.2f}x, down {down:.2f}x")
    print("\n| CPU seconds (median) | up: tool | up: machine | down: tool | down: machine |")
    print("|---|---|---|---|---|")
    for label, name in (("aws s3 cp", "aws"), ("score-tui", "tui")):
        (up_tool, up_all), (down_tool, down_all) = (
            results.cpu(f"{name} up"),
            results.cpu(f"{name} down"),
        )
        print(f"| {label} | {up_tool:.2f} | {up_all:.2f} | {down_tool:.2f} | {down_all:.2f} |")
    print(f"(the machine has {os.cpu_count()} cores; 'machine' includes the broker, RGW and OSD)")
    ceiling = mb / results.median("md5")
    print("\n| local store (embedded default) | MB/s | x two-pass MD5 ceiling |")
    print("|---|---|---|")
    print(f"| two-pass MD5 ceiling | {ceiling:.0f} | 1.00x |")
    for direction in ("up", "down"):
        local = speed(f"local {direction}")
        print(f"| score-tui {direction} | {local:.0f} | {local / ceiling:.2f}x |")
    print("\n| client peak RSS | upload MB | download MB |")
    print("|---|---|---|")
    for label, name in ((f"{size_mib} MiB", "local"), (f"{4 * size_mib} MiB", "local 4x")):
        print(f"| {label} | {results.peak(f'{name} up') / 1e6:.0f} | "
              f"{results.peak(f'{name} down') / 1e6:.0f} |")  # fmt: skip
    growth = max(results.peak("local 4x up") / results.peak("local up"),
                 results.peak("local 4x down") / results.peak("local down"))  # fmt: skip
    print(f"\n4x the size: at most {growth:.2f}x the memory")


@dataclass
class Dataset:
    name: str
    files: list[tuple[str, int]]  # (name, size)


CALL = re.compile(r'"POST /upload/[0-9a-f-]{36}(/uploads|/parts)?\?[^"]*" 200 \d+ ([\d.]+)ms')


def broker_call_times(log: str) -> dict[str, list[float]]:
    """Milliseconds of each initiate, finish-part and finalize in a broker's access log."""
    names = {"/uploads": "initiate", "/parts": "finish-part", "": "finalize"}
    times: dict[str, list[float]] = {name: [] for name in names.values()}
    for match in CALL.finditer(log):
        times[names[match.group(1) or ""]].append(float(match.group(2)))
    return times


def small_files(bench: Bench, size_mib: int, repeats: int) -> None:
    datasets = [
        Dataset("300 x 64 KiB", [(f"f{i:04d}.bin", 64 * 1024) for i in range(300)]),
        Dataset("2,000 x 16 KiB", [(f"f{i:04d}.bin", 16 * 1024) for i in range(2000)]),
        Dataset(
            f"1 x {size_mib} MiB + 500 x 64 KiB",
            [("big.bin", size_mib * MIB)] + [(f"f{i:04d}.bin", 64 * 1024) for i in range(500)],
        ),
    ]
    broker = bench.start_broker("song", s3_storage(bench.endpoint, bench.bucket), True)
    token = bench.token("song")
    song = httpx.Client(
        base_url=f"{broker.url}/song", headers={"Authorization": f"Bearer {token}"}, timeout=60
    )
    results = Results()
    studies = iter(range(1, 10**6))
    calls: dict[str, list[float]] = {}

    def directory(dataset: Dataset) -> Path:
        where = bench.workdir / re.sub(r"\W+", "-", dataset.name)
        if not where.exists():
            where.mkdir()
            for name, size in dataset.files:
                write_file(where / name, size)
        return where

    def aws(dataset: Dataset) -> None:
        source = directory(dataset)
        prefix = f"s3://{bench.bucket}/aws-{uuid.uuid4().hex[:8]}/"
        results.add(f"{dataset.name} aws up", bench.aws("cp", "--recursive", str(source), prefix))
        out = bench.workdir / "aws-out"
        results.add(f"{dataset.name} aws down", bench.aws("cp", "--recursive", prefix, str(out)))
        shutil.rmtree(out)

    def tui(dataset: Dataset) -> None:
        source = directory(dataset)
        for name, size in dataset.files:  # Song refuses a file it has registered before
            write_file(source / name, size)
        os.sync()  # their writeback is not part of the upload's time
        study = f"BENCH{next(studies)}"
        files = [arg for name, _ in dataset.files for arg in ("--file", str(source / name))]
        log_start = len(broker.log_text())
        up = bench.tui(broker, "upload", "--study", study, "--access", "open", *files,
                       token=token)  # fmt: skip
        results.add(f"{dataset.name} tui up", up)
        if dataset is datasets[0]:
            for name, times in broker_call_times(broker.log_text()[log_start:]).items():
                calls.setdefault(name, []).extend(times)
        listed = song.get(f"/studies/{study}/analysis", params={"analysisStates": "UNPUBLISHED"})
        analysis = listed.json()[0]["analysisId"]
        started = time.perf_counter()
        song.put(f"/studies/{study}/analysis/publish/{analysis}").raise_for_status()
        results.add(f"{dataset.name} publish", Run(time.perf_counter() - started))
        out = bench.workdir / "tui-out"
        down = bench.tui(broker, "download", "--analysis-id", analysis, "--study-id", study,
                         "--output-dir", str(out), token=token)  # fmt: skip
        results.add(f"{dataset.name} tui down", down)
        shutil.rmtree(out)

    for dataset in datasets:
        directory(dataset)
    aws(datasets[0])  # warm-up
    bench.clean()
    results.runs.clear()
    calls.clear()
    for round_ in range(repeats):
        for dataset in datasets:
            for tool in (aws, tui) if round_ % 2 == 0 else (tui, aws):
                tool(dataset)
                bench.clean()
    song.close()

    print(f"\nSmall files, median of {repeats} rounds, Ceph RGW at {bench.endpoint}")
    print("(score-tui's upload registers the files with Song first; its download finds them")
    print("through Song by analysis; aws-cli moves the same files with `s3 cp --recursive`)\n")
    print("| files | aws up s | score-tui up s | up: aws / ours | aws down s | score-tui down s "
          "| down: aws / ours | publish s | peak RSS up / down MB |")  # fmt: skip
    print("|---|---|---|---|---|---|---|---|---|")
    for dataset in datasets:
        n = dataset.name
        au, tu = results.median(f"{n} aws up"), results.median(f"{n} tui up")
        ad, td = results.median(f"{n} aws down"), results.median(f"{n} tui down")
        print(f"| {n} | {au:.2f} | {tu:.2f} | {au / tu:.2f}x | {ad:.2f} | {td:.2f} | "
              f"{ad / td:.2f}x | {results.median(f'{n} publish'):.2f} | "
              f"{results.peak(f'{n} tui up') / 1e6:.0f} / {results.peak(f'{n} tui down') / 1e6:.0f}"
              " |")  # fmt: skip
    print("\n| broker call, one-part uploads on RGW | p50 ms | p90 ms | calls |")
    print("|---|---|---|---|")
    for name, times in calls.items():
        ordered = sorted(times)
        p90 = ordered[int(len(ordered) * 0.9)] if ordered else float("nan")
        p50 = statistics.median(ordered) if ordered else float("nan")
        print(f"| {name} | {p50:.1f} | {p90:.1f} | {len(ordered)} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--size-mib", type=int, default=1024)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--ceph-endpoint")
    parser.add_argument("--small-files", action="store_true")
    args = parser.parse_args()
    for tool in (AWS, "/usr/bin/time"):
        if not shutil.which(tool):
            sys.exit(f"{tool} is missing: apt-get install -y awscli time")
    with tempfile.TemporaryDirectory(prefix="score-bench-") as tmp, \
            ceph(args.ceph_endpoint, Path(tmp)) as (endpoint, ceph_dir):  # fmt: skip
        bench = Bench(Path(tmp), endpoint, ceph_dir)
        try:
            if args.small_files:
                small_files(bench, args.size_mib, args.repeats)
            else:
                big_files(bench, args.size_mib, args.repeats)
        finally:
            bench.stop()
            bench.clean()


if __name__ == "__main__":
    main()
