"""Score's access rules, cell by cell: who may upload, get download URLs and publish.

One broker (local store, embedded Song, authorization on) serves the whole matrix. Every refusal
must leave the store and Song exactly as they were.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from tests.support.broker import BrokerProcess
from tests.support.identity_provider import Issuer
from tests.support.score_client import ScoreClient
from tests.support.song import SongClient, object_id, payload, register

STUDY = "TEST-CA"


def rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def signed_jwt(key: rsa.RSAPrivateKey, scopes: list[str], expires_in: int = 600) -> str:
    claims = {"sub": "user-1", "exp": int(time.time()) + expires_in,
              "context": {"scope": scopes}}  # fmt: skip
    return jwt.encode(claims, key, algorithm="RS256")


@dataclass
class World:
    broker: BrokerProcess
    store: Path
    tokens: dict[str, str | None]
    upload_ids: dict[str, str]  # access -> object id in an UNPUBLISHED analysis
    download_ids: dict[str, str]  # access -> object id in a PUBLISHED analysis
    published: str
    admin: str


def cli(config: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "score_broker", "keys", *args, "--config", str(config)],
        capture_output=True, text=True, check=True, timeout=60,
    )  # fmt: skip


def create_key(config: Path, *scopes: str) -> str:
    args = [arg for scope in scopes for arg in ("--scope", scope)]
    return cli(config, "create", *args).stdout.strip()


def grants_of(*scopes: str) -> list[tuple[str, list[str]]]:
    """Keycloak permissions that Score maps back to these scopes (`<rsname>.<scope>`)."""
    grants: dict[str, list[str]] = {}
    for scope in scopes:
        name, _, action = scope.rpartition(".")
        grants.setdefault(name, []).append(action)
    return list(grants.items())


@pytest.fixture(scope="module", params=["keys", "keycloak"])
def world(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[World]:
    """The matrix's broker and tokens: the broker's keys and Ego JWTs, or (`keycloak`) JWTs
    whose scopes come from Keycloak's permissions, beside the broker's own keys."""
    work = tmp_path_factory.mktemp("authz")
    jwt_key = rsa_key()
    public = work / "jwt.pem"
    public.write_bytes(
        jwt_key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    auth: dict[str, Any] = {"enabled": True, "jwt_public_key_file": str(public)}
    issuer = Issuer().start() if request.param == "keycloak" else None
    if issuer is not None:
        auth = issuer.broker_auth()
    config = {
        "server": {"data_directory": str(work / "data")},
        "storage": {"backend": "local", "local": {"directory": str(work / "store")}},
        "song": {"url": "embedded"},
        "auth": auth,
    }
    broker = BrokerProcess(config, work).start()
    config_file = work / f"broker-{broker.port}.toml"
    admin = (work / "data" / "admin-key").read_text().strip()
    revoked = create_key(config_file, "score.READ", "score.WRITE", "song.WRITE")
    revoked_id = cli(config_file, "list").stdout.splitlines()[-1].split()[0]
    cli(config_file, "revoke", revoked_id)
    everything = ("score.READ", "score.WRITE", "song.WRITE")

    def holder(who: str, *scopes: str) -> str:
        if issuer is None:
            return create_key(config_file, *scopes)
        issuer.grants[who] = grants_of(*scopes)
        return issuer.token(who)

    tokens: dict[str, str | None] = {
        "none": None,
        "unknown key": str(uuid.uuid4()),
        "revoked key": revoked,
        "expired jwt": signed_jwt(jwt_key, list(everything), -60),
        "jwt of another key": signed_jwt(rsa_key(), list(everything)),
        "wrong study": holder("wrong", "PROGRAMDATA-OTHER.READ", "PROGRAMDATA-OTHER.WRITE"),
        "read-only": holder("reader", "score.READ", f"PROGRAMDATA-{STUDY}.READ"),
        "system": holder("system", *everything),
        "study": holder("study", f"PROGRAMDATA-{STUDY}.READ", f"PROGRAMDATA-{STUDY}.WRITE"),
        "ego jwt": signed_jwt(jwt_key, list(everything)),
    }
    if issuer is not None:
        issuer.grants["ego"] = grants_of(*everything)
        tokens["expired jwt"] = issuer.token("ego", exp=int(time.time()) - 60)
        tokens["ego jwt"] = issuer.token("ego")
    song = SongClient(f"{broker.url}/song", admin)
    assert song.create_study(STUDY).status_code == 200
    files = {"o.bam": (os.urandom(500), "open"), "c.bam": (os.urandom(600), "controlled")}
    published = song.submit(STUDY, payload(STUDY, files)).json()["analysisId"]
    download_ids = {
        "open": object_id(published, "o.bam"),
        "controlled": object_id(published, "c.bam"),
    }
    with ScoreClient(broker.url, token=admin) as client:
        for name, (content, _) in files.items():
            client.upload(object_id(published, name), content)
    assert song.publish(STUDY, published).status_code == 200
    pending_files = {"o.vcf": (os.urandom(10), "open"), "c.vcf": (os.urandom(11), "controlled")}
    pending = song.submit(STUDY, payload(STUDY, pending_files)).json()["analysisId"]  # fmt: skip
    upload_ids = {"open": object_id(pending, "o.vcf"), "controlled": object_id(pending, "c.vcf")}
    song.close()
    yield World(broker, work / "store", tokens, upload_ids, download_ids, published, admin)
    broker.stop()
    if issuer is not None:
        issuer.stop()


def snapshot(root: Path) -> dict[str, int]:
    """Every file under the store, with its size: what a refused request must not change."""
    return {str(p.relative_to(root)): p.stat().st_size for p in root.rglob("*") if p.is_file()}


def headers(token: str | None) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"} if token else {}


EXPECTED: dict[str, dict[str, int]] = {
    #                      upload  download-open  download-controlled  publish
    "none":               {"upload": 401, "open": 200, "controlled": 401, "publish": 401},
    "unknown key":        {"upload": 401, "open": 401, "controlled": 401, "publish": 401},
    "revoked key":        {"upload": 401, "open": 401, "controlled": 401, "publish": 401},
    "expired jwt":        {"upload": 401, "open": 401, "controlled": 401, "publish": 401},
    "jwt of another key": {"upload": 401, "open": 401, "controlled": 401, "publish": 401},
    "wrong study":        {"upload": 403, "open": 200, "controlled": 403, "publish": 403},
    "read-only":          {"upload": 403, "open": 200, "controlled": 200, "publish": 403},
    "system":             {"upload": 200, "open": 200, "controlled": 200, "publish": 200},
    "study":              {"upload": 200, "open": 200, "controlled": 200, "publish": 200},
    "ego jwt":            {"upload": 200, "open": 200, "controlled": 200, "publish": 200},
}  # fmt: skip


@pytest.mark.parametrize("access", ["open", "controlled"])
@pytest.mark.parametrize("who", list(EXPECTED))
def test_upload(world: World, who: str, access: str) -> None:
    before = snapshot(world.store)
    response = httpx.post(
        f"{world.broker.url}/upload/{world.upload_ids[access]}/uploads",
        params={"fileSize": 10 if access == "open" else 11, "overwrite": "true"},
        headers=headers(world.tokens[who]),
    )
    expected = EXPECTED[who]["upload"]
    assert response.status_code == expected, response.text
    if expected == 403:
        assert response.text == "Token missing required scope to update project"
    if expected != 200:
        assert snapshot(world.store) == before


@pytest.mark.parametrize("access", ["open", "controlled"])
@pytest.mark.parametrize("who", list(EXPECTED))
def test_download_spec(world: World, who: str, access: str) -> None:
    response = httpx.get(
        f"{world.broker.url}/download/{world.download_ids[access]}",
        params={"offset": 0, "length": -1},
        headers=headers(world.tokens[who]),
    )
    expected = EXPECTED[who][access]
    assert response.status_code == expected, response.text
    if expected == 200:
        assert response.json()["parts"][0]["url"]
    if expected == 403:
        assert response.text == "Token missing required scope to download controlled-access file"
    if expected == 401:
        assert response.headers["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.parametrize("who", list(EXPECTED))
def test_publish(world: World, who: str) -> None:
    song = SongClient(f"{world.broker.url}/song", world.tokens[who])
    reader = SongClient(f"{world.broker.url}/song")  # an invalid token cannot read either
    before = reader.analysis(STUDY, world.published).json()
    response = song.publish(STUDY, world.published)
    expected = EXPECTED[who]["publish"]
    assert response.status_code == expected, response.text
    if expected != 200:
        assert reader.analysis(STUDY, world.published).json() == before
    song.close()
    reader.close()


def test_keys_are_never_stored_or_logged_in_clear(world: World) -> None:
    data = world.broker.workdir / "data"
    admin_file = data / "admin-key"
    assert oct(admin_file.stat().st_mode & 0o777) == "0o600"
    assert oct((data / "api-keys.sqlite").stat().st_mode & 0o777) == "0o600"
    keys_db = (data / "api-keys.sqlite").read_bytes()
    log = world.broker.log_text()
    for token in [world.admin, *(t for t in world.tokens.values() if t)]:
        assert token.encode() not in keys_db
        assert token not in log
    assert str(admin_file) in log


def test_keys_list_shows_no_keys(world: World) -> None:
    config = world.broker.workdir / f"broker-{world.broker.port}.toml"
    listing = cli(config, "list").stdout
    assert "revoked" in listing
    assert "active" in listing
    for token in [world.admin, *(t for t in world.tokens.values() if t)]:
        assert token not in listing


def test_expiring_key(world: World) -> None:
    config = world.broker.workdir / f"broker-{world.broker.port}.toml"
    created = cli(config, "create", "--scope", "score.READ", "--expires", "30d")
    assert len(created.stdout.strip().splitlines()) == 1
    uuid.UUID(created.stdout.strip())
    command = ["keys", "create", "--scope", "x", "--expires", "soon", "--config", str(config)]
    bad = subprocess.run(
        [sys.executable, "-m", "score_broker", *command], capture_output=True, text=True, timeout=60
    )  # fmt: skip
    assert bad.returncode == 2
    assert "not a duration" in bad.stderr


def test_invalid_token_is_refused_even_on_open_paths(world: World) -> None:
    bad: dict[str, Any] = headers(str(uuid.uuid4()))
    assert httpx.get(f"{world.broker.url}/download/ping", headers=bad).status_code == 401
    assert httpx.get(f"{world.broker.url}/download/ping").status_code == 200


UPLOAD_CALLS = [
    ("GET", "/upload/{id}/status", {"fileSize": 10}),
    ("POST", "/upload/{id}/recovery", {"fileSize": 10}),
    (
        "POST",
        "/upload/{id}/parts",
        {"uploadId": "u", "partNumber": 1, "md5": "0" * 32, "etag": "0" * 32},
    ),
    ("DELETE", "/upload/{id}/parts", {"uploadId": "u", "partNumber": 1}),
    ("POST", "/upload/{id}", {"uploadId": "u"}),
    ("GET", "/upload/{id}", {}),
    ("DELETE", "/upload/{id}", {}),
]


@pytest.mark.parametrize(("method", "path", "params"), UPLOAD_CALLS)
@pytest.mark.parametrize(
    ("who", "status"), [("none", 401), ("wrong study", 403), ("read-only", 403)]
)
def test_every_upload_call_is_guarded(
    world: World, who: str, status: int, method: str, path: str, params: dict[str, Any]
) -> None:
    before = snapshot(world.store)
    url = world.broker.url + path.replace("{id}", world.upload_ids["open"])
    response = httpx.request(method, url, params=params, headers=headers(world.tokens[who]))
    assert response.status_code == status
    assert snapshot(world.store) == before


@pytest.mark.parametrize("operation", ["submit", "unpublish", "suppress", "create study"])
@pytest.mark.parametrize(
    ("who", "status"), [("none", 401), ("wrong study", 403), ("read-only", 403)]
)
def test_song_writes_are_guarded(world: World, operation: str, who: str, status: int) -> None:
    song = SongClient(f"{world.broker.url}/song", world.tokens[who])
    before = song.analysis(STUDY, world.published).json()
    if operation == "submit":
        response = song.submit(STUDY, payload(STUDY, {"n.vcf": (os.urandom(9), "open")}))
    elif operation == "create study":
        response = song.create_study("NEW-STUDY")
    else:
        response = getattr(song, operation)(STUDY, world.published)
    assert response.status_code == status
    assert response.json()["errorId"] == (
        "unauthorized.token" if status == 401 else "forbidden.token"
    )
    assert song.analysis(STUDY, world.published).json() == before
    assert song.http.get("/studies/NEW-STUDY").status_code == 404
    song.close()


def test_a_study_scope_never_reaches_a_study_differing_only_in_case(tmp_path: Path) -> None:
    config = {
        "server": {"data_directory": str(tmp_path / "data")},
        "storage": {"backend": "local", "local": {"directory": str(tmp_path / "store")}},
        "song": {"url": "embedded"},
        "auth": {"enabled": True},
    }
    broker = BrokerProcess(config, tmp_path).start()
    try:
        config_file = tmp_path / f"broker-{broker.port}.toml"
        admin = (tmp_path / "data" / "admin-key").read_text().strip()
        song = SongClient(f"{broker.url}/song", admin)
        assert song.create_study("CASE").status_code == 200
        twin = song.create_study("case")
        assert twin.status_code == 409, twin.text
        assert twin.json()["errorId"] == "study.already.exists"
        assert "'CASE'" in twin.json()["message"]
        assert song.http.get("/studies/all").json() == ["CASE"]
        # A database from before that refusal may hold both spellings.
        with sqlite3.connect(tmp_path / "data" / "song.sqlite") as db:
            db.execute("INSERT INTO study (id) VALUES ('case')")
        ids = {}
        for study in ("CASE", "case", "SOLO"):
            song.create_study(study)
            files = {f"{study}.bam": (os.urandom(100), "controlled")}
            ids[study] = register(f"{broker.url}/song", study, files, admin)[f"{study}.bam"]
            with ScoreClient(broker.url, token=admin) as client:
                client.upload(ids[study], files[f"{study}.bam"][0])
        song.close()

        def status(token: str, study: str) -> tuple[int, int]:
            download = httpx.get(
                f"{broker.url}/download/{ids[study]}",
                params={"offset": 0, "length": -1, "exclude-urls": "true"},
                headers=headers(token),
            )
            upload = httpx.get(f"{broker.url}/upload/{ids[study]}", headers=headers(token))
            return download.status_code, upload.status_code

        upper = create_key(config_file, "PROGRAMDATA-CASE.READ", "PROGRAMDATA-CASE.WRITE")
        mixed = create_key(config_file, "PROGRAMDATA-Case.READ", "PROGRAMDATA-Case.WRITE")
        solo = create_key(config_file, "programdata-solo.read", "programdata-solo.write")
        assert status(upper, "CASE") == (200, 200)
        assert status(upper, "case") == (403, 403)
        assert status(mixed, "CASE") == (403, 403)
        assert status(mixed, "case") == (403, 403)
        assert status(solo, "SOLO") == (200, 200)  # Score ignores case for a study of its own
    finally:
        broker.stop()
