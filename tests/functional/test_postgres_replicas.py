"""Replicas on one PostgreSQL database and one store agree: keys, studies, analyses and their
states are the same on every broker, whichever one a request reaches.

Three `score-broker serve` processes share a real PostgreSQL server (started once per run) and a
local store directory, as replicas behind a load balancer share a database and a bucket.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import BrokerFactory
from tests.support.broker import BrokerProcess
from tests.support.score_client import ScoreClient
from tests.support.song import SongClient, assert_song_error, object_id, payload
from tests.support.waiting import wait_until
from tests.support.webhook_receiver import WebhookReceiver

STUDY = "REPL"


class Replicas:
    def __init__(self, brokers: list[BrokerProcess], admin_key: str) -> None:
        self.brokers = brokers
        self.admin_key = admin_key
        self.songs = [SongClient(f"{b.url}/song", admin_key) for b in brokers]

    def config(self, index: int) -> Path:
        broker = self.brokers[index]
        return broker.workdir / f"broker-{broker.port}.toml"

    def close(self) -> None:
        for song in self.songs:
            song.close()


@pytest.fixture
def replicas(
    broker_factory: BrokerFactory, tmp_path: Path, upgraded_postgres: str
) -> Iterator[Replicas]:
    storage = {"backend": "local", "local": {"directory": str(tmp_path / "store")}}
    brokers = [
        broker_factory(
            storage,
            song={"url": "embedded"},
            auth={"enabled": True},
            database=upgraded_postgres,
            data_directory=str(tmp_path / f"data-{i}"),
        )
        for i in range(3)
    ]
    # The first replica found no key in the shared database and made the admin key.
    keys = [tmp_path / f"data-{i}" / "admin-key" for i in range(3)]
    assert [key.exists() for key in keys] == [True, False, False]
    group = Replicas(brokers, keys[0].read_text().strip())
    yield group
    group.close()


def run_broker(*arguments: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "score_broker", *arguments],
        capture_output=True, text=True, stdin=subprocess.DEVNULL, check=False,
    )  # fmt: skip


def listing(broker: BrokerProcess, token: str) -> int:
    headers = {"Authorization": f"Bearer {token}"}
    return httpx.get(f"{broker.url}/listing", headers=headers, timeout=10).status_code


def test_a_key_made_on_one_replica_works_on_all_and_a_revoked_one_stops_at_once(
    replicas: Replicas,
) -> None:
    made = run_broker(
        "keys", "create", "--config", str(replicas.config(0)), "--scope", "score.READ"
    )
    assert made.returncode == 0, made.stderr
    token = made.stdout.strip()
    assert [listing(b, token) for b in replicas.brokers] == [200, 200, 200]

    key_id = made.stderr.split()[2]  # "created key <id> with scopes ..."
    revoked = run_broker("keys", "revoke", "--config", str(replicas.config(2)), key_id)
    assert revoked.returncode == 0, revoked.stderr
    for broker in replicas.brokers:
        wait_until(lambda b=broker: listing(b, token) == 401, "the revoked key refused", 1.0)


def test_a_study_and_an_analysis_made_on_one_replica_are_seen_by_the_others(
    replicas: Replicas,
) -> None:
    first, second, third = replicas.songs
    assert first.create_study(STUDY).status_code == 200
    assert second.http.get(f"/studies/{STUDY}").json()["studyId"] == STUDY
    submitted = second.submit(STUDY, payload(STUDY, {"a.vcf": (os.urandom(64), "open")}))
    assert submitted.status_code == 200, submitted.text
    analysis_id = submitted.json()["analysisId"]
    seen = [song.analysis(STUDY, analysis_id).json() for song in (first, third)]
    assert seen[0] == seen[1]
    assert seen[0]["analysisState"] == "UNPUBLISHED"
    assert seen[0]["files"][0]["objectId"] == object_id(analysis_id, "a.vcf")


def _all_at_once(calls: list[Callable[[], httpx.Response]]) -> list[httpx.Response]:
    """Run the calls in threads released together."""
    barrier = threading.Barrier(len(calls))
    answers: list[Any] = [None] * len(calls)

    def run(index: int) -> None:
        barrier.wait()
        answers[index] = calls[index]()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(calls))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return answers


def test_concurrent_state_changes_end_in_one_state_and_a_suppress_wins(
    replicas: Replicas,
) -> None:
    first, second, third = replicas.songs
    first.create_study(STUDY)
    content = os.urandom(1024)
    submitted = first.submit(STUDY, payload(STUDY, {"s.vcf": (content, "open")}))
    analysis_id = submitted.json()["analysisId"]
    uploader = ScoreClient(replicas.brokers[1].url, replicas.admin_key)
    uploader.upload(object_id(analysis_id, "s.vcf"), content)
    uploader.close()

    calls: list[Callable[[], httpx.Response]] = []
    for round_ in range(6):
        calls.append(lambda s=(first, second, third)[round_ % 3]: s.publish(STUDY, analysis_id))
        calls.append(lambda s=(second, third, first)[round_ % 3]: s.unpublish(STUDY, analysis_id))
    calls.append(lambda: third.suppress(STUDY, analysis_id))
    answers = _all_at_once(calls)

    assert all(answer.status_code < 500 for answer in answers), [a.text for a in answers]
    assert answers[-1].status_code == 200  # the suppress
    for refused in (a for a in answers if a.status_code != 200):
        assert_song_error(refused, 400, "suppressed.state.transition")

    def everyone_reports_suppressed() -> bool:
        states = {s.analysis(STUDY, analysis_id).json()["analysisState"] for s in replicas.songs}
        return states == {"SUPPRESSED"}

    wait_until(everyone_reports_suppressed, "every replica to report SUPPRESSED", 2.0)
    histories = [
        s.analysis(STUDY, analysis_id).json()["analysisStateHistory"] for s in replicas.songs
    ]
    assert histories[0] == histories[1] == histories[2]
    # Every accepted change is in the history, in order, each from the state before it.
    for before, after in zip(histories[0], histories[0][1:], strict=False):
        assert after["initialState"] == before["updatedState"]
    assert histories[0][-1]["updatedState"] == "SUPPRESSED"
    assert len(histories[0]) == sum(a.status_code == 200 for a in answers)


def test_of_two_concurrent_submits_of_one_md5_exactly_one_is_accepted(
    replicas: Replicas,
) -> None:
    first, second, _ = replicas.songs
    first.create_study(STUDY)
    for round_ in range(5):
        content = os.urandom(256)
        bodies = [payload(STUDY, {f"twin-{round_}-{i}.vcf": (content, "open")}) for i in (0, 1)]
        answers = _all_at_once(
            [
                lambda b=bodies[0]: first.submit(STUDY, b),
                lambda b=bodies[1]: second.submit(STUDY, b),
            ]
        )
        codes = sorted(answer.status_code for answer in answers)
        assert codes == [200, 409], [a.text for a in answers]
        assert_song_error(next(a for a in answers if a.status_code == 409), 409,
                          "info.already.exists")  # fmt: skip


def test_replicas_deliver_each_song_message_once_and_in_order(
    broker_factory: BrokerFactory, tmp_path: Path, upgraded_postgres: str
) -> None:
    # A slow webhook, refusing once: while one replica sends, the other must not send a later
    # message (the suppressions are written while the creations are still being sent).
    receiver = WebhookReceiver(refuse_first=1, delay=0.5)
    storage = {"backend": "local", "local": {"directory": str(tmp_path / "store")}}
    song = {"url": "embedded", "webhooks": [receiver.url]}
    try:
        brokers = [
            broker_factory(storage, song=song, auth={"enabled": True}, database=upgraded_postgres)
            for _ in range(2)
        ]
        token = (tmp_path / "data" / "admin-key").read_text().strip()
        songs = [SongClient(f"{b.url}/song", token) for b in brokers]
        songs[0].create_study(STUDY)
        analyses = []
        for i in range(4):
            body = payload(STUDY, {f"m{i}.vcf": (os.urandom(99), "open")})
            analyses.append(songs[i % 2].submit(STUDY, body).json()["analysisId"])
        receiver.wait_for(1)  # the creations are being sent, slowly
        for i, analysis_id in enumerate(analyses):
            assert songs[(i + 1) % 2].suppress(STUDY, analysis_id).status_code == 200
        messages = receiver.wait_for(8)
        deliveries = [r.headers["X-Song-Delivery"] for r in receiver.received]
        assert len(deliveries) == len(set(deliveries)) == 8
        assert receiver.most_at_once == 1  # one at a time, so in the order they were written
        for analysis_id in analyses:
            actions = [m["action"] for m in messages if m["analysisId"] == analysis_id]
            assert actions == ["CREATE", "SUPPRESS"]
        for client in songs:
            client.close()
    finally:
        receiver.close()
