"""A broker whose Song is another broker's embedded Song, over HTTP; and that Song's publish
checking objects on the first broker over HTTP, exactly as Song checks Score."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import httpx

from tests.support.broker import BrokerProcess, free_port
from tests.support.score_client import ScoreClient
from tests.support.song import SongClient, object_id, payload


def test_broker_on_a_remote_song(tmp_path: Path) -> None:
    song_port = free_port()
    score = BrokerProcess(
        {
            "server": {"data_directory": str(tmp_path / "score-data")},
            "storage": {"backend": "local", "local": {"directory": str(tmp_path / "score-store")}},
            "song": {"url": f"http://127.0.0.1:{song_port}/song", "retries": 0},
            "auth": {"enabled": True},
        },
        tmp_path,
    ).start()
    score_admin = (tmp_path / "score-data" / "admin-key").read_text().strip()
    song_broker = BrokerProcess(
        {
            "server": {"data_directory": str(tmp_path / "song-data")},
            "storage": {"backend": "local", "local": {"directory": str(tmp_path / "song-store")}},
            "song": {"url": "embedded", "score_url": score.url, "score_token": score_admin},
            "auth": {"enabled": True},
        },
        tmp_path,
        port=song_port,
    ).start()
    try:
        song_admin = (tmp_path / "song-data" / "admin-key").read_text().strip()
        song = SongClient(f"{song_broker.url}/song", song_admin)
        song.create_study("ABC123")
        files = {"r.bam": (os.urandom(700), "open"), "s.bam": (os.urandom(800), "controlled")}
        analysis_id = song.submit("ABC123", payload("ABC123", files)).json()["analysisId"]
        ids = {name: object_id(analysis_id, name) for name in files}

        unregistered = str(uuid.uuid4())
        with ScoreClient(score.url, token=score_admin) as client:
            refused = client.service.post(f"/upload/{unregistered}/uploads", params={"fileSize": 5})
            assert refused.status_code == 404
            assert "is not registered" in refused.json()["message"]
            for name, (content, _) in files.items():
                client.upload(ids[name], content)
            early = client.service.get(
                f"/download/{ids['r.bam']}", params={"offset": 0, "length": -1}
            )
            assert early.status_code == 400

        published = song.publish("ABC123", analysis_id)  # checks the objects on `score` over HTTP
        assert published.status_code == 200, published.text

        spec = {"offset": 0, "length": -1}
        anonymous_open = httpx.get(f"{score.url}/download/{ids['r.bam']}", params=spec)
        assert anonymous_open.status_code == 200
        assert httpx.get(anonymous_open.json()["parts"][0]["url"]).content == files["r.bam"][0]
        assert httpx.get(f"{score.url}/download/{ids['s.bam']}", params=spec).status_code == 401

        song_broker.stop()  # Song goes away: the broker asks the caller to retry
        unreachable = httpx.get(f"{score.url}/download/{ids['s.bam']}", params=spec)
        assert unreachable.status_code == 503
        assert "Song" in unreachable.json()["message"]
        song.close()
    finally:
        song_broker.stop()
        score.stop()
