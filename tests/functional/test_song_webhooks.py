"""`[song] webhooks`: every submit, publish, unpublish, suppress and update of the embedded Song
reaches each webhook as Song's analysis message, through a durable outbox: in order, signed,
and also when the webhook was down, even across a broker restart."""

from __future__ import annotations

import hashlib
import hmac
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import BrokerFactory
from tests.support.broker import BrokerProcess
from tests.support.score_client import ScoreClient
from tests.support.song import SongClient, object_id, payload
from tests.support.webhook_receiver import WebhookReceiver

STUDY = "HOOK"
SECRET = "hook-secret"
MESSAGE_KEYS = {"analysisId", "studyId", "state", "action", "songServerId", "analysis"}


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    hook = WebhookReceiver()
    yield hook
    hook.close()


def start_broker(
    broker_factory: BrokerFactory, tmp_path: Path, hooks: list[str], database: str = ""
) -> tuple[BrokerProcess, SongClient, str]:
    storage = {"backend": "local", "local": {"directory": str(tmp_path / "store")}}
    song = {
        "url": "embedded",
        "webhooks": hooks,
        "webhook_secret": SECRET,
        "server_id": "song.test",
    }
    broker = broker_factory(storage, song=song, auth={"enabled": True}, database=database)
    token = (tmp_path / "data" / "admin-key").read_text().strip()
    return broker, SongClient(f"{broker.url}/song", token), token


def submit_and_upload(song: SongClient, broker: BrokerProcess, token: str) -> str:
    song.create_study(STUDY)
    content = os.urandom(500)
    answer = song.submit(STUDY, payload(STUDY, {"h.vcf": (content, "open")}))
    assert answer.status_code == 200, answer.text
    analysis_id: str = answer.json()["analysisId"]
    uploader = ScoreClient(broker.url, token)
    uploader.upload(object_id(analysis_id, "h.vcf"), content)
    uploader.close()
    return analysis_id


def test_every_change_reaches_the_webhook_as_songs_analysis_message(
    broker_factory: BrokerFactory, tmp_path: Path, receiver: WebhookReceiver, song_database: str
) -> None:
    broker, song, token = start_broker(broker_factory, tmp_path, [receiver.url], song_database)
    analysis_id = submit_and_upload(song, broker, token)
    first = receiver.wait_for(1)[0]
    assert set(first) == MESSAGE_KEYS
    assert (first["action"], first["state"], first["songServerId"]) == (
        "CREATE", "UNPUBLISHED", "song.test",
    )  # fmt: skip
    assert first["analysis"] == song.analysis(STUDY, analysis_id).json()

    assert song.publish(STUDY, analysis_id).status_code == 200
    published = receiver.wait_for(2)[1]
    assert published["analysis"] == song.analysis(STUDY, analysis_id).json()
    file_id = object_id(analysis_id, "h.vcf")
    updated = song.http.put(f"/studies/{STUDY}/files/{file_id}", json={"info": {"lane": 7}})
    assert updated.status_code == 200, updated.text
    patched = song.http.patch(
        f"/studies/{STUDY}/analysis/{analysis_id}", json={"experiment": {"platform": "X"}}
    )
    assert patched.status_code == 200, patched.text
    assert song.unpublish(STUDY, analysis_id).status_code == 200
    assert song.suppress(STUDY, analysis_id).status_code == 200

    messages = receiver.wait_for(6)
    assert [(m["action"], m["state"]) for m in messages] == [
        ("CREATE", "UNPUBLISHED"),
        ("PUBLISH", "PUBLISHED"),
        ("PUBLISH", "PUBLISHED"),  # the file's info updated
        ("PUBLISH", "PUBLISHED"),  # the analysis patched
        ("UNPUBLISH", "UNPUBLISHED"),
        ("SUPPRESS", "SUPPRESSED"),
    ]
    assert {m["analysisId"] for m in messages} == {analysis_id}
    assert {m["studyId"] for m in messages} == {STUDY}
    assert messages[2]["analysis"]["files"][0]["info"] == {"lane": 7}
    assert messages[3]["analysis"]["experiment"]["platform"] == "X"
    assert messages[-1]["analysis"] == song.analysis(STUDY, analysis_id).json()
    for received in receiver.received:
        digest = hmac.new(SECRET.encode(), received.body, hashlib.sha256).hexdigest()
        assert received.headers["X-Song-Signature-256"] == f"sha256={digest}"
        assert received.headers["X-Song-Analysis-Id"] == analysis_id
    song.close()


def test_a_webhook_that_was_down_gets_every_message_in_order_after_a_restart(
    broker_factory: BrokerFactory, tmp_path: Path
) -> None:
    receiver = WebhookReceiver(refuse_first=2)  # down for the first two tries
    try:
        broker, song, token = start_broker(broker_factory, tmp_path, [receiver.url])
        analysis_id = submit_and_upload(song, broker, token)
        assert song.publish(STUDY, analysis_id).status_code == 200
        assert song.unpublish(STUDY, analysis_id).status_code == 200
        broker.kill()  # the outbox is in the database, not in the process
        song.close()

        broker, song, token = start_broker(broker_factory, tmp_path, [receiver.url])
        assert song.suppress(STUDY, analysis_id).status_code == 200
        messages = receiver.wait_for(4)
        assert receiver.refused == 2
        assert [m["action"] for m in messages] == ["CREATE", "PUBLISH", "UNPUBLISH", "SUPPRESS"]
        deliveries = [r.headers["X-Song-Delivery"] for r in receiver.received]
        assert len(set(deliveries)) == 4  # each once
        song.close()
    finally:
        receiver.close()


def test_each_webhook_gets_its_own_copy_and_a_bad_url_is_refused_at_start(
    broker_factory: BrokerFactory, tmp_path: Path
) -> None:
    hooks = [WebhookReceiver(), WebhookReceiver(refuse_first=1)]
    try:
        broker, song, token = start_broker(broker_factory, tmp_path, [h.url for h in hooks])
        submit_and_upload(song, broker, token)
        got: list[Any] = [hook.wait_for(1) for hook in hooks]
        assert got[0] == got[1]
        song.close()
    finally:
        for hook in hooks:
            hook.close()
    with pytest.raises(RuntimeError, match="webhooks must be http"):
        start_broker(broker_factory, tmp_path, ["ftp://nope"])
