"""Property-based requests from the broker's own OpenAPI document (schemathesis): whatever a
caller sends to the Score routes and the embedded Song, the broker never answers 5xx, except
Score's documented 500 for an upload over a finalized object without `overwrite=true`."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import schemathesis
from hypothesis import HealthCheck, settings

from tests.support.broker import BrokerProcess
from tests.support.score_client import ScoreClient
from tests.support.song import SongClient, register

schema = schemathesis.pytest.from_fixture("broker_schema")


@pytest.fixture(scope="module")
def seeded_broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BrokerProcess]:
    """A broker with authorization on, the embedded Song, and one published analysis."""
    work = tmp_path_factory.mktemp("openapi")
    config = {
        "server": {"log_level": "warning", "data_directory": str(work / "data")},
        "storage": {"backend": "local", "local": {"directory": str(work / "store")}},
        "song": {"url": "embedded"},
        "auth": {"enabled": True},
    }
    broker = BrokerProcess(config, work / "brokers").start()
    admin = (work / "data" / "admin-key").read_text().strip()
    content = b"ACGT" * 1000
    ids = register(f"{broker.url}/song", "PROPS", {"reads.vcf": (content, "open")}, admin)
    with ScoreClient(broker.url, token=admin) as client:
        client.upload(ids["reads.vcf"], content)
    song = SongClient(f"{broker.url}/song", admin)
    assert song.publish("PROPS", ids["analysis"]).status_code == 200
    song.close()
    ADMIN.append(admin)
    yield broker
    broker.stop()


ADMIN: list[str] = []


@pytest.fixture(scope="module")
def broker_schema(seeded_broker: BrokerProcess) -> schemathesis.BaseSchema:
    return schemathesis.openapi.from_url(f"{seeded_broker.url}/openapi.json")


def allowed_500(case: schemathesis.Case, body: str) -> bool:
    """Score answers 500 when an upload would replace a finalized object without overwrite."""
    return case.path == "/upload/{object_id}/uploads" and "overwrite" in body


@schema.parametrize()
@settings(max_examples=25, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
def test_no_request_gets_a_server_error(case: schemathesis.Case) -> None:
    response = case.call(headers={"Authorization": f"Bearer {ADMIN[0]}"}, timeout=30)
    if response.status_code >= 500 and not allowed_500(case, response.text):
        raise AssertionError(
            f"{case.method} {case.formatted_path} -> {response.status_code}: {response.text[:300]}"
        )
