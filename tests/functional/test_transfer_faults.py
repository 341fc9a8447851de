"""What a flaky link does to a transfer, and what the client does about it: processes killed
mid-transfer, Ctrl-C, bytes damaged in transit, refused and expiring URLs, stalls.

A proxy (a real HTTP server) sits between the client and the object store (or the local
store's data plane) to count requests per part and to inject the faults.
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import time
from pathlib import Path

import httpx

from tests.conftest import BrokerFactory, Proxied
from tests.support.broker import BrokerProcess
from tests.support.song import SongClient, register
from tests.support.store_proxy import StoreProxy
from tests.support.tui import Tui
from tests.support.waiting import wait_until

STUDY = "TEST-CA"
PART = 20 * 1024 * 1024
WAIT = 120.0


def started(tui: Tui, parts: int, *args: str) -> subprocess.Popen[str]:
    """Run `score-tui --batch ARGS` in the background until `parts` parts are done."""
    running = tui.popen(*args)
    wait_until(lambda: sum(tui.done_parts().values()) >= parts, f"{parts} finished parts")
    return running


def put_parts(proxy: StoreProxy, object_id: str) -> list[int]:
    return [s.part_number for s in proxy.data_requests("PUT", object_id) if s.part_number]


def get_parts(proxy: StoreProxy, object_id: str) -> list[int]:
    """Part numbers of ranged GETs of the object (from the Range header's first byte)."""
    return [
        int(s.range.split("=")[1].split("-")[0]) // PART + 1
        for s in proxy.data_requests("GET", object_id)
        if s.range
    ]


def md5(data: bytes) -> str:
    return hashlib.md5(data, usedforsecurity=False).hexdigest()


def registered(broker: BrokerProcess, tmp_path: Path, content: bytes) -> tuple[str, str, Path]:
    """Register `content` as f.vcf in Song; returns (object id, analysis id, local file)."""
    ids = register(f"{broker.url}/song", STUDY, {"f.vcf": (content, "open")})
    path = tmp_path / "f.vcf"
    path.write_bytes(content)
    return ids["f.vcf"], ids["analysis"], path


def published(broker: BrokerProcess, tui: Tui, tmp_path: Path, content: bytes) -> str:
    """Register, upload with the client and publish `content`; returns its object id."""
    object_id, analysis_id, path = registered(broker, tmp_path, content)
    done = tui.run("upload", "--object-id", object_id, "--file", str(path))
    assert done.returncode == 0, done.stderr
    publish(broker, analysis_id)
    return object_id


def publish(broker: BrokerProcess, analysis_id: str) -> None:
    song = SongClient(f"{broker.url}/song")
    try:
        assert song.publish(STUDY, analysis_id).status_code == 200
    finally:
        song.close()


def user(tmp_path: Path, broker: BrokerProcess) -> Tui:
    (tmp_path / "user").mkdir(exist_ok=True)
    return Tui(tmp_path / "user", broker.url)


def test_sigkill_mid_upload_resumes_without_resending_finished_parts(
    proxied: Proxied, tmp_path: Path, content_150mb: bytes
) -> None:
    broker, proxy = proxied()
    tui = user(tmp_path, broker)
    object_id, analysis_id, path = registered(broker, tmp_path, content_150mb)
    parts = set(range(1, 9))

    first = started(
        tui,
        3,
        "upload",
        "--object-id",
        object_id,
        "--file",
        str(path),
        "--bandwidth-limit",
        "40MB/s",
        "--concurrency",
        "2",
    )
    first.send_signal(signal.SIGKILL)
    first.wait()
    finished = {n for n, done in tui.done_parts().items() if done}
    sent_before = set(put_parts(proxy, object_id))
    assert finished
    assert finished < parts

    proxy.seen.clear()
    second = tui.run("upload", "--object-id", object_id, "--file", str(path))
    assert second.returncode == 0, second.stderr
    resent = put_parts(proxy, object_id)
    assert not finished & set(resent), "finished parts were sent again"
    # Each unfinished part is sent (a retry may send one twice); no finished part is.
    assert set(resent) == parts - finished
    assert len(sent_before - finished) <= 2, "at most the parts in flight are redone"

    publish(broker, analysis_id)
    out = tmp_path / "out"
    assert tui.run("download", "--object-id", object_id, "--output-dir", str(out)).returncode == 0
    assert (out / "f.vcf").read_bytes() == content_150mb


def test_sigkill_mid_download_resumes_and_reverifies(
    proxied: Proxied, tmp_path: Path, content_150mb: bytes
) -> None:
    broker, proxy = proxied()
    tui = user(tmp_path, broker)
    object_id = published(broker, tui, tmp_path, content_150mb)
    out = tmp_path / "out"
    tui.journal_path.unlink()

    first = started(
        tui,
        3,
        "download",
        "--object-id",
        object_id,
        "--output-dir",
        str(out),
        "--bandwidth-limit",
        "40MB/s",
        "--concurrency",
        "2",
    )
    first.send_signal(signal.SIGKILL)
    first.wait()
    finished = {n for n, done in tui.done_parts().items() if done}
    assert not (out / "f.vcf").exists(), "nothing at the final path before the MD5 passed"
    temps = [p for p in out.iterdir() if p.name.endswith(".partial")]
    assert len(temps) == 1
    # A finished part damaged on disk after the kill is found and fetched again.
    damaged = min(finished)
    with open(temps[0], "r+b") as handle:
        handle.seek((damaged - 1) * PART + 100)
        byte = handle.read(1)
        handle.seek((damaged - 1) * PART + 100)
        handle.write(bytes([byte[0] ^ 0xFF]))

    proxy.seen.clear()
    second = tui.run("download", "--object-id", object_id, "--output-dir", str(out))
    assert second.returncode == 0, second.stderr
    fetched = get_parts(proxy, object_id)
    # Every unfinished part and the damaged one are fetched (a retry may fetch one twice); no
    # other finished part is.
    assert set(fetched) == (set(range(1, 9)) - finished) | {damaged}
    assert (out / "f.vcf").read_bytes() == content_150mb
    assert os.listdir(out) == ["f.vcf"]


def test_damaged_bytes_are_fetched_or_sent_again_never_accepted(
    proxied: Proxied, tmp_path: Path, content_100mb: bytes
) -> None:
    broker, proxy = proxied()
    tui = user(tmp_path, broker)
    object_id, analysis_id, path = registered(broker, tmp_path, content_100mb)

    proxy.add("flip-request", lambda s: s.method == "PUT" and s.part_number == 2)
    done = tui.run("upload", "--object-id", object_id, "--file", str(path))
    assert done.returncode == 0, done.stderr
    assert [kind for kind, _ in proxy.triggered] == ["flip-request"]
    assert put_parts(proxy, object_id).count(2) == 2, "the damaged part was sent again"
    publish(broker, analysis_id)

    proxy.add(
        "flip-response",
        lambda s: (
            s.method == "GET"
            and object_id in s.path
            and s.range is not None
            and s.range.startswith(f"bytes={PART}-")
        ),
    )
    out = tmp_path / "out"
    done = tui.run("download", "--object-id", object_id, "--output-dir", str(out))
    assert done.returncode == 0, done.stderr
    assert [kind for kind, _ in proxy.triggered] == ["flip-request", "flip-response"]
    assert get_parts(proxy, object_id).count(2) == 2
    assert (out / "f.vcf").read_bytes() == content_100mb

    # Damage on every attempt: the download fails, says why, and leaves nothing at the target.
    proxy.add(
        "flip-response",
        lambda s: (
            s.method == "GET"
            and object_id in s.path
            and s.range is not None
            and s.range.startswith("bytes=0-")
        ),
        times=1000,
    )
    again = tmp_path / "again"
    code, summary = tui.json(
        "download", "--object-id", object_id, "--output-dir", str(again), STORAGE_RETRYNUMBER="2"
    )
    assert code == 1
    error = summary["files"][0]["error"]
    assert "f.vcf: part 1" in error
    assert "fetching again" in error
    assert "gave up" in error
    assert not (again / "f.vcf").exists()


def test_a_small_file_damaged_in_transit_is_fetched_again(proxied: Proxied, tmp_path: Path) -> None:
    """A one-part object is checked against its MD5 as it arrives: damage is caught, and only
    that object is fetched again."""
    broker, proxy = proxied()
    tui = user(tmp_path, broker)
    content = os.urandom(50_000)
    object_id = published(broker, tui, tmp_path, content)
    proxy.add(
        "flip-response",
        lambda s: s.method == "GET" and object_id in s.path and s.range is not None,
    )
    out = tmp_path / "out"
    done = tui.run("download", "--object-id", object_id, "--output-dir", str(out))
    assert done.returncode == 0, done.stderr
    assert [kind for kind, _ in proxy.triggered] == ["flip-response"]
    assert get_parts(proxy, object_id) == [1, 1]
    assert (out / "f.vcf").read_bytes() == content


def test_refused_urls_are_refreshed_and_the_transfer_goes_on(
    proxied: Proxied, tmp_path: Path, content_100mb: bytes
) -> None:
    broker, proxy = proxied()
    tui = user(tmp_path, broker)
    object_id, analysis_id, path = registered(broker, tmp_path, content_100mb)
    proxy.add("403", lambda s: s.method == "PUT" and s.part_number == 3)
    done = tui.run("upload", "--object-id", object_id, "--file", str(path))
    assert done.returncode == 0, done.stderr
    # One status call before initiating, one more for fresh URLs after the 403.
    assert broker.log_text().count(f"GET /upload/{object_id}/status?") == 2
    publish(broker, analysis_id)

    proxy.add("403", lambda s: s.method == "GET" and object_id in s.path and s.range is not None)
    out = tmp_path / "out"
    done = tui.run("download", "--object-id", object_id, "--output-dir", str(out))
    assert done.returncode == 0, done.stderr
    assert len(proxy.triggered) == 2
    assert broker.log_text().count(f"GET /download/{object_id}?offset=0&length=-1") == 2
    assert (out / "f.vcf").read_bytes() == content_100mb


def test_a_stalled_part_is_abandoned_and_retried(
    proxied: Proxied, tmp_path: Path, content_100mb: bytes
) -> None:
    broker, proxy = proxied()
    tui = user(tmp_path, broker)
    object_id = published(broker, tui, tmp_path, content_100mb)
    proxy.add("stall", lambda s: s.method == "GET" and object_id in s.path and s.range is not None)
    out = tmp_path / "out"
    started = time.monotonic()
    done = tui.run(
        "download", "--object-id", object_id, "--output-dir", str(out), SCORE_TUI_STALL_TIMEOUT="1"
    )
    assert done.returncode == 0, done.stderr
    assert time.monotonic() - started < 60
    assert [kind for kind, _ in proxy.triggered] == ["stall"]
    assert (out / "f.vcf").read_bytes() == content_100mb


def test_ctrl_c_pauses_and_resume_finishes(
    broker_factory: BrokerFactory, tmp_path: Path, content_150mb: bytes
) -> None:
    storage = {"backend": "local", "local": {"directory": str(tmp_path / "store")}}
    broker = broker_factory(storage, song={"url": "embedded"})
    tui = user(tmp_path, broker)
    object_id, _, path = registered(broker, tmp_path, content_150mb)

    running = started(
        tui,
        2,
        "upload",
        "--object-id",
        object_id,
        "--file",
        str(path),
        "--bandwidth-limit",
        "40MB/s",
        "--concurrency",
        "2",
    )
    running.send_signal(signal.SIGINT)
    _, stderr = running.communicate(timeout=WAIT)
    assert running.returncode == 130, stderr
    assert "score-tui --batch resume" in stderr
    finished = {n for n, done in tui.done_parts().items() if done}

    listed = json.loads(tui.run("--json", "status").stdout)
    assert [(t["objectId"], t["state"]) for t in listed] == [(object_id, "paused")]

    resumed = tui.run("resume")
    assert resumed.returncode == 0, resumed.stderr
    log = broker.log_text()
    for number in finished:
        assert log.count(f"partNumber={number}&offset=") == 1, f"part {number} sent again"
    assert httpx.get(f"{broker.url}/upload/{object_id}").text == "true"
    assert json.loads(tui.run("--json", "status").stdout) == []


def test_two_processes_never_work_the_same_transfer(
    broker_factory: BrokerFactory, tmp_path: Path, content_150mb: bytes
) -> None:
    storage = {"backend": "local", "local": {"directory": str(tmp_path / "store")}}
    broker = broker_factory(storage, song={"url": "embedded"})
    tui = user(tmp_path, broker)
    object_id, _, path = registered(broker, tmp_path, content_150mb)
    running = tui.popen(
        "upload", "--object-id", object_id, "--file", str(path), "--bandwidth-limit", "30MB/s"
    )
    try:
        wait_until(lambda: sum(tui.done_parts().values()) >= 1, "a finished part")
        second = tui.run("upload", "--object-id", object_id, "--file", str(path))
        assert second.returncode == 1
        assert "is being worked on by process" in second.stderr
    finally:
        running.send_signal(signal.SIGINT)
        running.communicate(timeout=WAIT)
    assert tui.run("resume").returncode == 0
    assert httpx.get(f"{broker.url}/upload/{object_id}").text == "true"


def test_urls_that_expire_during_a_transfer_are_renewed(
    broker_factory: BrokerFactory, tmp_path: Path, content_150mb: bytes
) -> None:
    storage = {
        "backend": "local",
        "local": {"directory": str(tmp_path / "store")},
        "upload_url_expiry": 1,
        "download_url_expiry": 1,
    }
    broker = broker_factory(storage, song={"url": "embedded"})
    tui = user(tmp_path, broker)
    object_id, analysis_id, path = registered(broker, tmp_path, content_150mb)
    done = tui.run(
        "upload",
        "--object-id",
        object_id,
        "--file",
        str(path),
        "--bandwidth-limit",
        "50MB/s",
        "--concurrency",
        "2",
    )
    assert done.returncode == 0, done.stderr
    log = broker.log_text()
    assert '" 403 ' in log, "some part URL expired on the way"
    assert log.count(f"GET /upload/{object_id}/status?") >= 2, "fresh URLs were fetched"
    publish(broker, analysis_id)
    out = tmp_path / "out"
    done = tui.run(
        "download",
        "--object-id",
        object_id,
        "--output-dir",
        str(out),
        "--bandwidth-limit",
        "50MB/s",
        "--concurrency",
        "2",
    )
    assert done.returncode == 0, done.stderr
    assert (out / "f.vcf").read_bytes() == content_150mb
