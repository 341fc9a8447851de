"""`GET /metrics`: what a real transfer and real refusals leave in the broker's Prometheus series,
the metrics token, metrics turned off, and several worker processes adding up to one count."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
from prometheus_client import CollectorRegistry
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.samples import Sample

from tests.conftest import BrokerFactory, s3_storage
from tests.support.broker import BrokerProcess, free_port
from tests.support.song import SongClient, register
from tests.support.tui import Tui
from tests.support.waiting import wait_until

STUDY = "TEST-CA"
PART = 20 * 1024 * 1024  # the smallest part the broker plans
INITIATE = "/upload/{object_id}/uploads"
#: An access-log line: method, path, status.
ACCESS = re.compile(r'score_broker\.access: \S+ "(\S+) (\S+)" (\d{3}) ')


class Scrape:
    """One /metrics answer, parsed as Prometheus parses it."""

    def __init__(self, text: str) -> None:
        self.samples: list[Sample] = [
            sample for family in text_string_to_metric_families(text) for sample in family.samples
        ]

    def named(self, name: str) -> list[Sample]:
        return [s for s in self.samples if s.name == name]

    def value(self, name: str, **labels: str) -> float:
        """The sum of `name`'s samples that carry these labels (0 if none)."""
        return sum(
            s.value
            for s in self.named(name)
            if all(s.labels.get(key) == wanted for key, wanted in labels.items())
        )

    def by_label(self, name: str, label: str) -> dict[str, float]:
        return {s.labels[label]: s.value for s in self.named(name)}

    def requests(self) -> Counter[tuple[str, str, str]]:
        """(method, route, status) -> count."""
        found: Counter[tuple[str, str, str]] = Counter()
        for s in self.named("score_broker_requests_total"):
            found[s.labels["method"], s.labels["route"], s.labels["status"]] += int(s.value)
        return found


def _children(pid: int) -> list[int]:
    return [
        int(child)
        for task in Path(f"/proc/{pid}/task").iterdir()
        for child in (task / "children").read_text().split()
    ]


def scrape(url: str, **headers: str) -> Scrape:
    response = httpx.get(f"{url}/metrics", headers=headers, timeout=30)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    return Scrape(response.text)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def create_key(broker: BrokerProcess, *scopes: str) -> str:
    config = broker.workdir / f"broker-{broker.port}.toml"
    args = [arg for scope in scopes for arg in ("--scope", scope)]
    created = subprocess.run(
        [sys.executable, "-m", "score_broker", "keys", "create", *args, "--config", str(config)],
        capture_output=True, text=True, check=True, timeout=60,
    )  # fmt: skip
    return created.stdout.strip()


def assert_histograms_consistent(scraped: Scrape) -> None:
    """Each route's latency buckets rise to +Inf, which equals its count, which equals the
    requests counted for that method and route."""
    requests: Counter[tuple[str, str]] = Counter()
    for (method, route, _), count in scraped.requests().items():
        requests[method, route] += count
    buckets: dict[tuple[str, str], list[tuple[float, float]]] = {}
    for s in scraped.named("score_broker_request_duration_seconds_bucket"):
        key = (s.labels["method"], s.labels["route"])
        buckets.setdefault(key, []).append((float(s.labels["le"]), s.value))
    assert set(buckets) == set(requests)
    for key, counts in buckets.items():
        ordered = [count for _, count in sorted(counts)]
        assert ordered == sorted(ordered), key
        assert sorted(counts)[-1][0] == float("inf")
        method, route = key
        total = scraped.value("score_broker_request_duration_seconds_count", method=method,
                              route=route)  # fmt: skip
        seconds = scraped.value("score_broker_request_duration_seconds_sum", method=method,
                                route=route)  # fmt: skip
        assert ordered[-1] == total == requests[key], key
        assert seconds > 0, key


def test_a_transfer_and_refusals_are_counted_exactly(
    broker_factory: BrokerFactory, tmp_path: Path
) -> None:
    storage = {"backend": "local", "local": {"directory": str(tmp_path / "store")}}
    broker = broker_factory(storage, song={"url": "embedded"}, auth={"enabled": True})
    admin = (tmp_path / "data" / "admin-key").read_text().strip()
    reader = create_key(broker, "score.READ")
    content = os.urandom(PART + 5000)  # two parts
    ids = register(f"{broker.url}/song", STUDY, {"data.bin": (content, "controlled")}, admin)
    object_id = ids["data.bin"]
    initiate = f"{broker.url}/upload/{object_id}/uploads"
    params = {"fileSize": len(content)}

    assert httpx.post(initiate, params=params).status_code == 401
    assert httpx.post(initiate, params=params, headers=bearer(str(uuid.uuid4()))).status_code == 401
    assert httpx.post(initiate, params=params, headers=bearer(reader)).status_code == 403

    source = tmp_path / "data.bin"
    source.write_bytes(content)
    (tmp_path / "user").mkdir()
    tui = Tui(tmp_path / "user", broker.url, token=admin)
    uploaded = tui.run("upload", "--object-id", object_id, "--file", str(source))
    assert uploaded.returncode == 0, uploaded.stderr
    early = httpx.get(
        f"{broker.url}/download/{object_id}", params={"offset": 0, "length": -1},
        headers=bearer(admin),
    )  # fmt: skip
    assert early.status_code == 400, "no download URLs before the analysis is published"
    song = SongClient(f"{broker.url}/song", admin)
    try:
        assert song.publish(STUDY, ids["analysis"]).status_code == 200
    finally:
        song.close()
    downloaded = tui.run(
        "download", "--object-id", object_id, "--output-dir", str(tmp_path / "out")
    )
    assert downloaded.returncode == 0, downloaded.stderr
    assert (tmp_path / "out" / "data.bin").read_bytes() == content

    scraped = scrape(broker.url)
    requests = scraped.requests()
    expected = {
        ("POST", INITIATE, "401"): 2,  # no token, an unknown token
        ("POST", INITIATE, "403"): 1,  # a read-only token
        ("POST", INITIATE, "200"): 1,
        ("PUT", "/storage/{key:path}", "200"): 2,  # the two parts
        ("POST", "/upload/{object_id}/parts", "200"): 2,
        ("POST", "/upload/{object_id}", "200"): 1,  # finalize
        ("GET", "/download/{object_id}", "400"): 1,  # before publishing
        ("GET", "/download/{object_id}", "200"): 1,
        ("GET", "/storage/{key:path}", "206"): 2,  # the two parts, by range
    }
    assert {key: requests[key] for key in expected} == expected
    assert scraped.by_label("score_broker_refusals_total", "reason") == {
        "no_token": 1, "bad_token": 1, "expired_token": 0, "revoked_token": 0, "scope": 1,
        "state": 1, "mismatch": 0, "bad_url": 0, "expired_url": 0,
    }  # fmt: skip
    signed = scraped.by_label("score_broker_urls_signed_total", "kind")
    pings = requests["GET", "/download/ping", "200"]
    assert signed == {"upload_part": 2, "upload_object": 0, "download_part": 2,
                      "download_object": 0, "htsget": 0, "ping": pings}  # fmt: skip
    assert scraped.value("score_broker_uploads_started_total") == 1
    assert scraped.value("score_broker_uploads_finalized_total") == 1
    assert scraped.value("score_broker_uploads_aborted_total") == 0
    assert scraped.value("score_broker_uploads_declared_bytes_total") == len(content)
    assert scraped.value("score_broker_store_errors_total") == 0
    assert scraped.value("score_broker_song_errors_total") == 0
    assert scraped.value("score_broker_song_request_duration_seconds_count", operation="entity")

    # Every request the access log shows is counted once, under its method and status.
    logged = Counter(
        (method, status)
        for method, path, status in ACCESS.findall(broker.log_text())
        if path != "/metrics"
    )
    counted: Counter[tuple[str, str]] = Counter()
    for (method, route, status), count in requests.items():
        if route != "/metrics":
            counted[method, status] += count
    assert counted == logged

    labels = {value for s in scraped.samples for value in s.labels.values()}
    assert not [value for value in labels if object_id in value or ids["analysis"] in value]
    routes = {route for _, route, _ in requests}
    assert all(route.startswith("/") for route in routes), routes
    assert_histograms_consistent(scraped)


def test_store_and_song_failures_are_counted_by_operation(
    broker_factory: BrokerFactory, tmp_path: Path
) -> None:
    closed = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    storage = s3_storage(closed, "score-unreachable")
    storage["s3"].update(create_buckets=False, max_attempts=1, connect_timeout=2)
    broker = broker_factory(storage, healthy=False, song={"url": closed, "retries": 0})
    before = scrape(broker.url)
    spec = f"{broker.url}/download/{uuid.uuid4()}"
    # Download URLs need Song's word first; a spec without URLs only the store's.
    assert httpx.get(spec, params={"offset": 0, "length": -1}).status_code == 503
    bare = {"offset": 0, "length": -1, "exclude-urls": "true"}
    assert httpx.get(spec, params=bare).status_code == 503
    after = scrape(broker.url)

    def grown(name: str, label: str) -> dict[str, float]:
        was = before.by_label(name, label)
        now = after.by_label(name, label)
        return {key: now[key] - was.get(key, 0) for key in now if now[key] != was.get(key, 0)}

    assert grown("score_broker_song_errors_total", "operation") == {"entity": 1}
    assert grown("score_broker_song_request_duration_seconds_count", "operation") == {"entity": 1}
    assert grown("score_broker_store_errors_total", "operation") == {"get_state": 1}
    assert after.requests()["GET", "/download/{object_id}", "503"] == 2


def test_unknown_paths_share_one_label(broker_factory: BrokerFactory, tmp_path: Path) -> None:
    broker = broker_factory({"backend": "local", "local": {"directory": str(tmp_path / "s")}})
    for _ in range(3):
        assert httpx.get(f"{broker.url}/no/such/path/{uuid.uuid4()}").status_code == 404
    assert httpx.get(f"{broker.url}/health/").status_code == 200  # the slash is ignored
    requests = scrape(broker.url).requests()
    assert requests["GET", "unmatched", "404"] == 3
    assert requests["GET", "/health", "200"] >= 2  # the start's polls, and this one


def test_the_metrics_token_is_required_when_set(
    broker_factory: BrokerFactory, tmp_path: Path
) -> None:
    storage = {"backend": "local", "local": {"directory": str(tmp_path / "store")}}
    broker = broker_factory(storage, metrics_token="s3cret-metrics")
    refused: list[dict[str, Any]] = [
        {},
        bearer("wrong"),
        bearer("s3cret-metrics-and-more"),
        {"Authorization": "Basic czNjcmV0LW1ldHJpY3M="},
        {"Authorization": "s3cret-metrics"},
    ]
    for headers in refused:
        response = httpx.get(f"{broker.url}/metrics", headers=headers)
        assert response.status_code == 401, headers
        assert "metrics_token" in response.json()["message"]
        assert "score_broker_" not in response.text
    scraped = scrape(broker.url, **bearer("s3cret-metrics"))
    assert scraped.requests()["GET", "/metrics", "401"] == len(refused)


def test_metrics_can_be_turned_off(broker_factory: BrokerFactory, tmp_path: Path) -> None:
    storage = {"backend": "local", "local": {"directory": str(tmp_path / "store")}}
    broker = broker_factory(storage, metrics=False)
    off = httpx.get(f"{broker.url}/metrics")
    unknown = httpx.get(f"{broker.url}/no-such-path")
    assert off.status_code == unknown.status_code == 404
    assert off.json()["error"] == unknown.json()["error"] == "Not Found"
    assert "/metrics" not in httpx.get(f"{broker.url}/openapi.json").json()["paths"]


def _per_worker(directory: Path, route: str, scratch: Path) -> dict[str, float]:
    """Requests to `route` each process counted, read from its own file alone."""
    counts = {}
    for file in directory.glob("counter_*.db"):
        alone = scratch / file.stem
        alone.mkdir(parents=True, exist_ok=True)
        shutil.copy(file, alone / file.name)
        registry = CollectorRegistry()
        MultiProcessCollector(registry, str(alone))  # type: ignore[no-untyped-call]
        counts[file.stem] = sum(
            s.value
            for family in registry.collect()
            for s in family.samples
            if s.name == "score_broker_requests_total" and s.labels.get("route") == route
        )
    return counts


SCRAPER = "Bearer token-of-the-scrapers"


def test_workers_add_up_to_one_count(broker_factory: BrokerFactory, tmp_path: Path) -> None:
    storage = {"backend": "local", "local": {"directory": str(tmp_path / "store")}}
    broker = broker_factory(storage, workers=2, metrics_token=SCRAPER.split()[1])
    found = re.search(r"2 worker processes; their metrics are added up in (\S+)", broker.log_text())
    assert found, broker.log_text()
    directory = Path(found[1])
    # The settings, secrets included, reach the workers in a private file, not the environment.
    assert (directory / "settings.json").stat().st_mode & 0o077 == 0
    assert broker.process is not None
    family = [broker.process.pid, *_children(broker.process.pid)]
    assert len(family) >= 3  # serve and its two workers
    for pid in family:
        assert SCRAPER.split()[1].encode() not in Path(f"/proc/{pid}/environ").read_bytes()
    sent = 0

    def both_workers_answered() -> bool:
        nonlocal sent
        assert httpx.get(f"{broker.url}/profile").status_code == 200  # a new connection each
        sent += 1
        counts = _per_worker(directory, "/profile", tmp_path / "scratch")
        return sum(count > 0 for count in counts.values()) >= 2

    wait_until(both_workers_answered, "each of the two workers to answer /profile")

    def profile_count() -> float:
        scraped = scrape(broker.url, Authorization=SCRAPER)
        return scraped.value("score_broker_requests_total", route="/profile")

    wait_until(lambda: profile_count() >= sent, f"{sent} /profile requests in the scrape")

    def scraped_by_both() -> bool:
        assert profile_count() == sent
        counts = _per_worker(directory, "/metrics", tmp_path / "scratch")
        return sum(count > 0 for count in counts.values()) >= 2

    wait_until(scraped_by_both, "each of the two workers to answer a scrape")
    broker.stop()
    assert not directory.exists(), "the metrics directory goes when the broker stops"


def test_open_metrics_on_a_public_address_are_warned_about(
    broker_factory: BrokerFactory, tmp_path: Path
) -> None:
    storage = {"backend": "local", "local": {"directory": str(tmp_path / "store")}}
    open_broker = broker_factory(storage, host="0.0.0.0")
    assert "/metrics is open to anyone who can reach 0.0.0.0" in open_broker.log_text()
    guarded = broker_factory(storage, host="0.0.0.0", metrics_token="t")
    local = broker_factory(storage)
    for broker in (guarded, local):
        assert "/metrics is open" not in broker.log_text()
