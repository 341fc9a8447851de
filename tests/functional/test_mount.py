"""`mount`: the objects as a read-only FUSE file system (run as root here, where /dev/fuse can
be mounted): byte-identical reads anywhere, and samtools reading a region in place."""

from __future__ import annotations

import random
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import BrokerFactory
from tests.support.alignments import write_alignments
from tests.support.tui import Tui
from tests.support.waiting import wait_until


def samtools(*args: str) -> str:
    return subprocess.run(
        ["samtools", "view", *args], capture_output=True, text=True, check=True
    ).stdout


@pytest.fixture
def mount_point(tmp_path: Path) -> Iterator[Path]:
    point = tmp_path / "mnt"
    point.mkdir()
    yield point
    subprocess.run(["umount", "-l", str(point)], capture_output=True, check=False)


def test_a_mounted_bam_reads_as_the_local_file(
    broker_factory: BrokerFactory, tmp_path: Path, mount_point: Path
) -> None:
    storage = {"backend": "local", "local": {"directory": str(tmp_path / "store")}}
    broker = broker_factory(storage, song={"url": "embedded"})
    files = write_alignments(tmp_path / "aln", reads=20_000)
    (tmp_path / "user").mkdir()
    tui = Tui(tmp_path / "user", broker.url)
    uploaded = tui.run(
        "upload", "--study", "MNT", "--file", str(files.bam), "--file", str(files.bai),
        "--access", "open", "--publish",
    )  # fmt: skip
    assert uploaded.returncode == 0, uploaded.stderr
    analysis = httpx.get(f"{broker.url}/song/studies/MNT/analysis").json()[0]["analysisId"]

    running = tui.popen("mount", "--mount-point", str(mount_point))
    mounted_bam = mount_point / analysis / files.bam.name
    try:
        wait_until(mounted_bam.exists, "the mount to show the BAM", timeout=60)
        assert sorted(p.name for p in (mount_point / analysis).iterdir()) == sorted(
            [files.bam.name, files.bai.name]
        )
        local = files.bam.read_bytes()
        assert mounted_bam.stat().st_size == len(local)
        rng = random.Random(11)
        with open(mounted_bam, "rb") as handle:
            for _ in range(40):
                offset = rng.randrange(len(local))
                size = rng.choice([1, 100, 70_000, 3 * 1024 * 1024])
                handle.seek(offset)
                assert handle.read(size) == local[offset : offset + size]
        region = "chr1:100000-150000"
        assert samtools(str(mounted_bam), region) == samtools(str(files.bam), region)
        with pytest.raises(OSError, match="Read-only file system"):
            open(mounted_bam, "r+b")  # read-only  # noqa: SIM115
    finally:
        subprocess.run(["umount", str(mount_point)], capture_output=True, check=False)
        running.wait(timeout=30)
    assert running.returncode == 0, running.stderr.read() if running.stderr else ""
    assert not any(mount_point.iterdir())


def test_mount_refuses_a_directory_that_is_not_empty(
    broker_factory: BrokerFactory, tmp_path: Path, mount_point: Path
) -> None:
    storage = {"backend": "local", "local": {"directory": str(tmp_path / "store")}}
    broker = broker_factory(storage, song={"url": "embedded"})
    (mount_point / "something").write_text("x")
    (tmp_path / "user").mkdir()
    refused = Tui(tmp_path / "user", broker.url).run("mount", "--mount-point", str(mount_point))
    assert refused.returncode == 1
    assert "must be an empty directory" in refused.stderr
    shutil.rmtree(mount_point / "something", ignore_errors=True)


def test_a_daemonized_mount_by_object_id_with_cached_metadata(
    broker_factory: BrokerFactory, tmp_path: Path, mount_point: Path
) -> None:
    """`--daemonize` returns once mounted; `--layout object-id` lists the objects by id; with
    `--cache-metadata` the object list is kept for the next mount."""
    storage = {"backend": "local", "local": {"directory": str(tmp_path / "store")}}
    broker = broker_factory(storage, song={"url": "embedded"})
    (tmp_path / "user").mkdir()
    tui = Tui(tmp_path / "user", broker.url)
    source = tmp_path / "flat.vcf"
    source.write_bytes(random.Random(3).randbytes(5 * 1024 * 1024 + 7))
    uploaded = tui.run("upload", "--study", "FLAT", "--file", str(source), "--publish")
    assert uploaded.returncode == 0, uploaded.stderr
    analysis = httpx.get(f"{broker.url}/song/studies/FLAT/analysis").json()[0]
    object_id = analysis["files"][0]["objectId"]
    args = ["mount", "--mount-point", str(mount_point), "--layout", "OBJECT-ID"]
    try:
        done = tui.run(*args, "--daemonize", "--cache-metadata", "--options", "fsname=score-test")
        assert done.returncode == 0, done.stderr
        wait_until((mount_point / object_id).exists, "the daemonized mount", timeout=60)
        assert (mount_point / object_id).read_bytes() == source.read_bytes()
        assert [p.name for p in mount_point.iterdir()] == [object_id]
    finally:
        subprocess.run(["umount", str(mount_point)], capture_output=True, check=False)
    cached = list((tmp_path / "user" / "state" / "score-tui" / "mount-metadata").glob("*.json"))
    assert len(cached) == 1
    assert object_id in cached[0].read_text()
