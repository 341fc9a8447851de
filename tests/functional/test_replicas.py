"""Upload state lives in the store: a restarted broker or a second one continues any upload."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from tests.conftest import BrokerFactory
from tests.support.score_client import ScoreClient

MiB = 1024 * 1024


def test_restarted_broker_continues_an_upload(
    broker_factory: BrokerFactory, storage: dict[str, Any], object_id: str, tmp_path: Path
) -> None:
    content = os.urandom(45 * MiB)  # three parts
    first = broker_factory(storage)
    before = ScoreClient(first.url)
    spec = before.initiate(object_id, content)
    before.upload_parts(object_id, spec, content, spec["parts"][:1])
    before.close()
    first.kill()

    second = broker_factory(storage)
    after = ScoreClient(second.url)
    status = after.check(
        after.service.get(f"/upload/{object_id}/status", params={"fileSize": len(content)})
    ).json()
    assert status["uploadId"] == spec["uploadId"]
    finished = [p["partNumber"] for p in status["parts"] if "sourceMd5" in p]
    assert finished == [1]
    remaining = [p for p in status["parts"] if "sourceMd5" not in p]
    after.upload_parts(object_id, spec, content, remaining)
    after.finalize(object_id, spec["uploadId"])

    destination = tmp_path / "downloaded"
    after.download(object_id, destination)
    assert destination.read_bytes() == content
    after.close()


def test_second_broker_finalizes_an_upload_the_first_started(
    broker_factory: BrokerFactory, storage: dict[str, Any], object_id: str, tmp_path: Path
) -> None:
    content = os.urandom(30 * MiB)  # two parts
    one = ScoreClient(broker_factory(storage).url)
    two = ScoreClient(broker_factory(storage).url)
    spec = one.initiate(object_id, content)
    one.upload_parts(object_id, spec, content, spec["parts"][:1])
    two.upload_parts(object_id, spec, content, spec["parts"][1:])
    two.finalize(object_id, spec["uploadId"])
    assert one.service.get(f"/upload/{object_id}").text == "true"
    # Finalizing again, on either broker, is a no-op.
    one.finalize(object_id, spec["uploadId"])

    destination = tmp_path / "downloaded"
    one.download(object_id, destination)
    assert destination.read_bytes() == content
    one.close()
    two.close()
