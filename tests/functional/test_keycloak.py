"""Keycloak permissions as Score asks for them, and Ego's public key from a URL, against
identity providers the tests start over real HTTP."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import BrokerFactory
from tests.support.broker import BrokerProcess
from tests.support.identity_provider import Issuer, new_key
from tests.support.score_client import ScoreClient
from tests.support.song import SongClient, register


@pytest.fixture
def issuer() -> Iterator[Issuer]:
    started = Issuer().start()
    yield started
    started.stop()


def keycloak_broker(broker_factory: BrokerFactory, issuer: Issuer, tmp_path: Path) -> BrokerProcess:
    auth = issuer.broker_auth()
    storage = {"backend": "local", "local": {"directory": str(tmp_path / "store")}}
    return broker_factory(storage, song={"url": "embedded"}, auth=auth)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_keycloak_permissions_become_scores_scopes(
    broker_factory: BrokerFactory, issuer: Issuer, tmp_path: Path
) -> None:
    """`PROGRAMDATA-ABC` with `READ` is `PROGRAMDATA-ABC.READ`, `score` with `WRITE` is
    `score.WRITE`; the JWT's own OIDC scopes grant nothing; broker API keys still work."""
    issuer.grants = {
        "uploader": [("score", ["WRITE"]), ("song", ["WRITE"])],
        "abc-reader": [("PROGRAMDATA-ABC", ["READ"])],
        "xyz-reader": [("PROGRAMDATA-XYZ", ["READ"])],
    }
    broker = keycloak_broker(broker_factory, issuer, tmp_path)
    admin = (tmp_path / "data" / "admin-key").read_text().strip()
    content = os.urandom(2000)
    song = SongClient(f"{broker.url}/song", issuer.token("uploader"))
    ids = register(
        f"{broker.url}/song", "ABC", {"c.vcf": (content, "controlled")}, issuer.token("uploader")
    )
    with ScoreClient(broker.url, token=issuer.token("uploader")) as client:
        client.upload(ids["c.vcf"], content)
    assert song.publish("ABC", ids["analysis"]).status_code == 200
    song.close()

    def spec(token: str | None) -> int:
        headers = bearer(token) if token else {}
        return httpx.get(
            f"{broker.url}/download/{ids['c.vcf']}",
            params={"offset": 0, "length": -1},
            headers=headers,
        ).status_code

    assert spec(issuer.token("abc-reader")) == 200
    assert spec(issuer.token("xyz-reader")) == 403
    assert spec(issuer.token("nobody")) == 403  # Keycloak grants nothing: 403 from it
    assert spec(None) == 401
    assert spec(admin) == 200  # the broker's own keys work under every provider
    forged = Issuer(key=new_key()).token("abc-reader")  # signed by another key
    assert spec(forged) == 401

    refused = httpx.post(
        f"{broker.url}/upload/{ids['c.vcf']}/uploads",
        params={"fileSize": 10},
        headers=bearer(issuer.token("abc-reader")),
    )
    assert refused.status_code == 403

    # Permissions are kept briefly: the same token asks Keycloak once.
    token = issuer.token("abc-reader", jti="once")
    before = issuer.permission_calls.count("abc-reader")
    assert spec(token) == 200
    assert spec(token) == 200
    assert issuer.permission_calls.count("abc-reader") == before + 1


def test_the_public_key_comes_from_a_url(
    broker_factory: BrokerFactory, issuer: Issuer, tmp_path: Path
) -> None:
    """Ego serves its key at /oauth/token/public_key: fetched at start, and fetched again
    while the broker has none; a key that changes is picked up at most once a minute."""
    issuer.key_down = True
    storage = {"backend": "local", "local": {"directory": str(tmp_path / "store")}}
    auth = {"enabled": True, "jwt_public_key_url": f"{issuer.url}/oauth/token/public_key"}
    broker = broker_factory(storage, auth=auth)
    url = f"{broker.url}/upload/{uuid.uuid4()}/uploads"

    def initiate(token: str) -> int:
        return httpx.post(url, params={"fileSize": 10}, headers=bearer(token)).status_code

    writer = issuer.token("ego-user", context={"scope": ["score.WRITE"]})
    assert initiate(writer) == 503  # the key cannot be fetched yet: try again later
    issuer.key_down = False
    assert initiate(writer) == 200
    assert initiate(issuer.token("ego-user", context={"scope": ["score.READ"]})) == 403
    assert initiate(Issuer(key=new_key()).token("x", context={"scope": ["score.WRITE"]})) == 401
