"""Behind a proxy: the broker reaches its S3 store, and the client the broker, Song and the
store's pre-signed URLs, through the proxy the environment names (HTTP_PROXY)."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import BrokerFactory, s3_storage
from tests.support.forward_proxy import ForwardProxy
from tests.support.song import SongClient, register
from tests.support.tui import Tui

STUDY = "TEST-CA"


@pytest.fixture
def proxy(monkeypatch: pytest.MonkeyPatch) -> Iterator[ForwardProxy]:
    running = ForwardProxy().start()
    for name in ("NO_PROXY", "no_proxy", "HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HTTP_PROXY", running.url)
    monkeypatch.setenv("http_proxy", running.url)
    yield running
    running.stop()


def test_a_round_trip_through_the_environments_proxy(
    proxy: ForwardProxy, broker_factory: BrokerFactory, moto_endpoint: str, tmp_path: Path
) -> None:
    storage = s3_storage(moto_endpoint, f"score-{uuid.uuid4().hex[:12]}")
    broker = broker_factory(storage, song={"url": "embedded"})
    data = os.urandom(30 * 1024 * 1024)  # two parts
    ids = register(f"{broker.url}/song", STUDY, {"f.vcf": (data, "open")})
    (tmp_path / "f.vcf").write_bytes(data)
    (tmp_path / "user").mkdir()
    tui = Tui(tmp_path / "user", broker.url)

    status, summary = tui.json(
        "upload", "--object-id", ids["f.vcf"], "--file", str(tmp_path / "f.vcf")
    )
    assert status == 0, summary["stderr"]
    song = SongClient(f"{broker.url}/song")
    assert song.publish(STUDY, ids["analysis"]).status_code == 200
    song.close()
    out = tmp_path / "out"
    status, summary = tui.json(
        "download", "--object-id", ids["f.vcf"], "--output-dir", str(out), "--output-layout", "id"
    )
    assert status == 0, summary["stderr"]
    assert (out / ids["f.vcf"]).read_bytes() == data

    carried = proxy.carried
    store = moto_endpoint.rstrip("/")
    assert any(
        c.method == "POST" and c.url.startswith(store) and "uploads" in c.url for c in carried
    ), "the broker started the multipart upload through the proxy"
    assert any(
        c.method == "PUT" and c.url.startswith(store) and "partNumber=" in c.url for c in carried
    ), "the client sent the parts through the proxy"
    assert any(c.method == "GET" and c.url.startswith(store) for c in carried), (
        "the client fetched the parts through the proxy"
    )
    assert any(c.url.startswith(f"{broker.url}/upload/") for c in carried), (
        "the client asked the broker through the proxy"
    )
