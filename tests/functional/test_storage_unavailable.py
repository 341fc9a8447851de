"""An unreachable object store gives 503 (score-client retries), never a stack trace."""

from __future__ import annotations

import uuid

import httpx

from tests.conftest import BrokerFactory, s3_storage
from tests.support.broker import free_port


def test_unreachable_store_is_503_and_health_is_down(broker_factory: BrokerFactory) -> None:
    closed = f"http://127.0.0.1:{free_port()}"
    storage = s3_storage(closed, "score-down")
    storage["s3"]["create_buckets"] = False
    broker = broker_factory(storage, healthy=False)
    object_id = str(uuid.uuid4())

    health = httpx.get(f"{broker.url}/health", timeout=60)
    assert health.status_code == 503
    assert health.json()["status"] == "DOWN"

    for response in (
        httpx.get(f"{broker.url}/download/{object_id}?offset=0&length=-1", timeout=60),
        httpx.post(f"{broker.url}/upload/{object_id}/uploads?fileSize=10", timeout=60),
        httpx.get(f"{broker.url}/upload/{object_id}", timeout=60),
    ):
        assert response.status_code == 503
        assert "object store" in response.json()["message"]
        assert "Traceback" not in response.text
