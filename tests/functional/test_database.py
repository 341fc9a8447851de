"""`[database] url`: the schema is versioned and applied by `score-broker db upgrade`, `serve`
refuses a database without it, and `db copy` moves a single-machine broker onto PostgreSQL
without losing a key or an analysis."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import psycopg

from tests.conftest import BrokerFactory
from tests.support.broker import to_toml
from tests.support.postgres import PASSWORD
from tests.support.score_client import ScoreClient
from tests.support.song import SongClient, assert_song_error, object_id, payload

STUDY = "MOVE"


def broker_command(*arguments: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "score_broker", *arguments],
        capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=60, check=False,
    )  # fmt: skip


def write_config(path: Path, url: str, data: Path, **extra: Any) -> Path:
    config = {
        "server": {"data_directory": str(data)},
        "database": {"url": url},
        "storage": {"backend": "local", "local": {"directory": str(data.parent / "store")}},
        **extra,
    }
    path.write_text(to_toml(config))
    return path


def test_serve_refuses_a_database_without_the_schema_until_db_upgrade(
    postgres_url: str, tmp_path: Path
) -> None:
    config = write_config(tmp_path / "broker.toml", postgres_url, tmp_path / "data")
    refused = broker_command("serve", "--config", str(config), "--port", "1")
    assert refused.returncode == 2
    lines = refused.stderr.strip().splitlines()
    assert len(lines) == 1, refused.stderr
    assert "score-broker db upgrade" in lines[0]
    assert "no schema" in lines[0]
    assert PASSWORD not in refused.stderr

    status = broker_command("db", "status", "--config", str(config))
    assert "keys schema 0 (needs 1)" in status.stdout

    upgraded = broker_command("db", "upgrade", "--config", str(config))
    assert upgraded.returncode == 0, upgraded.stderr
    assert "keys schema 1" in upgraded.stdout
    assert "song schema 2" in upgraded.stdout
    assert PASSWORD not in upgraded.stdout + upgraded.stderr
    again = broker_command("db", "upgrade", "--config", str(config))
    assert again.returncode == 0
    assert "up to date" in again.stdout
    status = broker_command("db", "status", "--config", str(config))
    assert "keys schema 1 (up to date)" in status.stdout
    assert "song schema 2 (up to date)" in status.stdout


def test_serve_refuses_a_database_an_older_broker_left(
    upgraded_postgres: str, tmp_path: Path
) -> None:
    with psycopg.connect(upgraded_postgres, autocommit=True) as connection:
        connection.execute("UPDATE schema_version SET version = 1 WHERE component = 'song'")
    config = write_config(tmp_path / "broker.toml", upgraded_postgres, tmp_path / "data")
    refused = broker_command("serve", "--config", str(config), "--port", "1")
    assert refused.returncode == 2
    assert "has schema 1 for song" in refused.stderr
    assert "score-broker db upgrade" in refused.stderr
    assert len(refused.stderr.strip().splitlines()) == 1


def test_an_unreachable_database_is_one_line_without_the_password(tmp_path: Path) -> None:
    url = f"postgresql://broker:{PASSWORD}@127.0.0.1:1/nowhere"
    config = write_config(tmp_path / "broker.toml", url, tmp_path / "data")
    refused = broker_command("keys", "list", "--config", str(config))
    assert refused.returncode == 2
    assert refused.stderr.startswith("score-broker: Cannot connect to the database")
    assert "[database] url" in refused.stderr
    assert PASSWORD not in refused.stderr
    assert len(refused.stderr.strip().splitlines()) == 1


def _everything(song: SongClient, broker_url: str) -> dict[str, Any]:
    """What a user can read of the study: its analyses, export and clinical tree."""
    analyses = song.http.get(
        f"/studies/{STUDY}/analysis", params={"analysisStates": "PUBLISHED,UNPUBLISHED,SUPPRESSED"}
    ).json()
    return {
        "analyses": analyses,
        "export": song.http.get(f"/export/studies/{STUDY}").json(),
        "all": song.http.get(f"/studies/{STUDY}/all").json(),
        "schemas": song.http.get("/schemas", params={"hideSchema": "true"}).json(),
        "studies": song.http.get("/studies/all").json(),
    }


def test_db_copy_moves_a_single_broker_onto_postgresql_without_losing_anything(
    broker_factory: BrokerFactory, postgres_url: str, tmp_path: Path
) -> None:
    storage = {"backend": "local", "local": {"directory": str(tmp_path / "store")}}
    old = broker_factory(storage, song={"url": "embedded"}, auth={"enabled": True})
    admin_key = (tmp_path / "data" / "admin-key").read_text().strip()
    config = old.workdir / f"broker-{old.port}.toml"
    made = broker_command("keys", "create", "--config", str(config), "--scope", "score.READ")
    reader_key = made.stdout.strip()
    gone = broker_command("keys", "create", "--config", str(config), "--scope", "score.READ")
    broker_command("keys", "revoke", "--config", str(config), gone.stderr.split()[2])

    song = SongClient(f"{old.url}/song", admin_key)
    song.create_study(STUDY)
    schema = {"type": "object", "properties": {"experiment": {"type": "object"}}}
    registration = {"name": "moved", "schema": schema}
    registered = song.http.post("/schemas", json=registration)
    assert registered.status_code == 200, registered.text
    analyses = []
    for name in ("p.vcf", "u.vcf", "s.vcf"):
        content = os.urandom(300)
        body = payload(STUDY, {name: (content, "controlled")})
        body["files"][0]["info"] = {"lane": name}
        analysis_id = song.submit(STUDY, body).json()["analysisId"]
        ScoreClient(old.url, admin_key).upload(object_id(analysis_id, name), content)
        analyses.append(analysis_id)
    assert song.publish(STUDY, analyses[0]).status_code == 200
    assert song.publish(STUDY, analyses[2]).status_code == 200
    assert song.suppress(STUDY, analyses[2]).status_code == 200
    before = _everything(song, old.url)
    song.close()
    old.stop()

    target = write_config(tmp_path / "pg.toml", postgres_url, tmp_path / "pg-data")
    copied = broker_command("db", "copy", "--config", str(target), "--from",
                            f"sqlite:{tmp_path / 'data'}")  # fmt: skip
    assert copied.returncode == 0, copied.stderr
    assert "copied 3 rows of api_key" in copied.stdout
    assert "copied 3 rows of analysis" in copied.stdout
    assert PASSWORD not in copied.stdout + copied.stderr

    new = broker_factory(
        storage, song={"url": "embedded"}, auth={"enabled": True}, database=postgres_url,
        data_directory=str(tmp_path / "pg-data"),
    )  # fmt: skip
    assert not (tmp_path / "pg-data" / "admin-key").exists()  # the keys came along
    song = SongClient(f"{new.url}/song", admin_key)
    assert _everything(song, new.url) == before
    headers = {"Authorization": f"Bearer {reader_key}"}
    assert httpx.get(f"{new.url}/listing", headers=headers).status_code == 200
    revoked = {"Authorization": f"Bearer {gone.stdout.strip()}"}
    assert httpx.get(f"{new.url}/listing", headers=revoked).status_code == 401
    # The copied bytes download as before; the copy goes on as a Song: new analyses, new
    # analysis type versions, and the old duplicate-MD5 guard.
    downloaded = tmp_path / "p.vcf"
    ScoreClient(new.url, admin_key).download(object_id(analyses[0], "p.vcf"), downloaded)
    assert downloaded.stat().st_size == 300
    fresh = song.submit(STUDY, payload(STUDY, {"n.vcf": (os.urandom(10), "open")}))
    assert fresh.status_code == 200, fresh.text
    version = song.http.post("/schemas", json=registration)
    assert version.json()["version"] == 2
    history = song.analysis(STUDY, analyses[2]).json()["analysisStateHistory"]
    assert [h["updatedState"] for h in history] == ["PUBLISHED", "SUPPRESSED"]
    suppress = song.suppress(STUDY, analyses[1])
    assert suppress.status_code == 200
    assert len(song.analysis(STUDY, analyses[1]).json()["analysisStateHistory"]) == 1
    song.close()

    again = broker_command("db", "copy", "--config", str(target), "--from",
                           f"sqlite:{tmp_path / 'data'}")  # fmt: skip
    assert again.returncode == 2
    assert "already holds rows" in again.stderr
    assert len(again.stderr.strip().splitlines()) == 1


def test_db_copy_refuses_what_is_not_a_brokers_data(postgres_url: str, tmp_path: Path) -> None:
    target = write_config(tmp_path / "pg.toml", postgres_url, tmp_path / "pg-data")
    (tmp_path / "empty").mkdir()
    refused = broker_command("db", "copy", "--config", str(target), "--from",
                             f"sqlite:{tmp_path / 'empty'}")  # fmt: skip
    assert refused.returncode == 2
    assert "holds neither api-keys.sqlite nor song.sqlite" in refused.stderr
    wrong = broker_command("db", "copy", "--config", str(target), "--from", str(tmp_path))
    assert wrong.returncode == 2
    assert "sqlite:PATH" in wrong.stderr
    sqlite_target = write_config(tmp_path / "s.toml", "", tmp_path / "s-data")
    (tmp_path / "s-data").mkdir()
    into_sqlite = broker_command("db", "copy", "--config", str(sqlite_target), "--from",
                                 f"sqlite:{tmp_path / 's-data'}")  # fmt: skip
    assert into_sqlite.returncode == 2


def test_a_nul_character_anywhere_is_a_400_on_either_backend(
    broker_factory: BrokerFactory, tmp_path: Path, song_database: str
) -> None:
    """PostgreSQL refuses NUL in text: no lookup may turn it into a 500."""
    storage = {"backend": "local", "local": {"directory": str(tmp_path / "store")}}
    broker = broker_factory(
        storage, song={"url": "embedded"}, auth={"enabled": True}, database=song_database
    )
    token = (tmp_path / "data" / "admin-key").read_text().strip()
    song = SongClient(f"{broker.url}/song", token)
    song.create_study(STUDY)
    for path in (
        "/studies/a%00b",
        f"/studies/{STUDY}/analysis/a%00",
        f"/studies/{STUDY}/files/x%00",
        "/entities/x%00",
        "/entities?gnosId=a%00",
        "/schemas/a%00",
        "/export/analysis/a%00",
    ):
        answer = song.http.get(path)
        assert_song_error(answer, 400, "malformed.parameter")
        assert "NUL" in answer.json()["message"]
    body = payload(STUDY, {"n\u0000.vcf": (b"x", "open")})
    assert_song_error(song.submit(STUDY, body), 400, "schema.violation")
    song.close()


def test_a_database_gone_away_is_a_503_to_retry_not_a_500(
    broker_factory: BrokerFactory, tmp_path: Path, upgraded_postgres: str
) -> None:
    storage = {"backend": "local", "local": {"directory": str(tmp_path / "store")}}
    broker = broker_factory(
        storage, song={"url": "embedded"}, auth={"enabled": True}, database=upgraded_postgres
    )
    token = (tmp_path / "data" / "admin-key").read_text().strip()
    song = SongClient(f"{broker.url}/song", token)
    assert song.create_study(STUDY).status_code == 200
    name = upgraded_postgres.rsplit("/", 1)[1]
    with psycopg.connect(upgraded_postgres.rsplit("/", 1)[0] + "/postgres",
                         autocommit=True) as connection:  # fmt: skip
        connection.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
    answer = song.http.get(f"/studies/{STUDY}")
    assert answer.status_code == 503, answer.text
    assert "database is unavailable" in answer.json()["message"]
    headers = {"Authorization": f"Bearer {token}"}
    refused = httpx.get(f"{broker.url}/listing", headers=headers, timeout=30)
    assert refused.status_code == 503, refused.text
    assert PASSWORD not in answer.text + refused.text + broker.log_path.read_text()
    song.close()
