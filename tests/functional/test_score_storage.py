"""What a Score deployment's store needs: URLs handed out through a proxy's host, Song's record
checked at initiate, and the broker's own store calls tuned."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import BrokerFactory, s3_storage
from tests.support.score_client import ScoreClient
from tests.support.store_proxy import StoreProxy


@pytest.fixture
def proxy() -> Iterator[StoreProxy]:
    started = StoreProxy(upstream="").start()
    yield started
    started.stop()


@pytest.mark.parametrize("backend", ["moto", pytest.param("ceph", marks=pytest.mark.ceph)])
def test_urls_name_the_presigned_host_and_still_verify(
    backend: str,
    request: pytest.FixtureRequest,
    broker_factory: BrokerFactory,
    proxy: StoreProxy,
    tmp_path: Path,
) -> None:
    """Signed for the store's own host, handed out with the proxy's: Ceph checks every
    signature, so a URL whose host was swapped wrongly fails there."""
    endpoint = request.getfixturevalue(f"{backend}_endpoint")
    proxy.upstream = endpoint
    storage = s3_storage(endpoint, f"score-{uuid.uuid4().hex[:12]}")
    storage["part_size"] = 20 * 1024 * 1024
    storage["s3"] |= {"presigned_host": proxy.url, "read_timeout": 30, "max_attempts": 2}
    broker = broker_factory(storage)
    object_id = str(uuid.uuid4())
    content = os.urandom(21 * 1024 * 1024)  # two parts
    with ScoreClient(broker.url) as client:
        spec = client.upload(object_id, content)
        assert all(part["url"].startswith(proxy.url) for part in spec["parts"])
        client.download(object_id, tmp_path / "back")
    assert (tmp_path / "back").read_bytes() == content
    assert len(proxy.data_requests("PUT", object_id)) == 2
    assert len(proxy.data_requests("GET", object_id)) == 2
