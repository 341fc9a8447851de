"""JWTs checked against a JWKS URL (Keycloak-style), with issuer and audience enforced."""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

from tests.conftest import BrokerFactory

KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
ISSUER = "http://keycloak.test/realms/score"


class Jwks(BaseHTTPRequestHandler):
    fetches: list[str] = []  # noqa: RUF012

    def do_GET(self) -> None:
        self.fetches.append(self.path)
        jwk = json.loads(RSAAlgorithm.to_jwk(KEY.public_key()))
        body = json.dumps({"keys": [{**jwk, "kid": "k1", "use": "sig", "alg": "RS256"}]}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *_: object) -> None:
        pass


@pytest.fixture
def jwks_url() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Jwks)
    Jwks.fetches.clear()
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/certs"
    server.shutdown()


def token(kid: str = "k1", **claims: Any) -> str:
    base = {"iss": ISSUER, "aud": "score", "exp": int(time.time()) + 300, "scope": "score.WRITE"}
    return jwt.encode({**base, **claims}, KEY, algorithm="RS256", headers={"kid": kid})


def test_jwks_issuer_and_audience(
    broker_factory: BrokerFactory, jwks_url: str, tmp_path: Path
) -> None:
    auth = {
        "enabled": True,
        "jwt_jwks_url": jwks_url,
        "jwt_issuer": ISSUER,
        "jwt_audience": "score",
    }
    storage = {"backend": "local", "local": {"directory": str(tmp_path / "store")}}
    broker = broker_factory(storage, auth=auth)

    def initiate(bearer: str) -> int:
        return httpx.post(
            f"{broker.url}/upload/{uuid.uuid4()}/uploads",
            params={"fileSize": 10},
            headers={"Authorization": f"Bearer {bearer}"},
        ).status_code

    assert initiate(token()) == 200
    assert initiate(token(aud="someone-else")) == 401
    assert initiate(token(iss="http://elsewhere")) == 401
    assert initiate(token(exp=int(time.time()) - 5)) == 401
    assert initiate(token(scope="score.READ")) == 403
    unsigned = jwt.encode(
        {"iss": ISSUER, "aud": "score", "scope": "score.WRITE"}, None, algorithm="none"
    )
    assert initiate(unsigned) == 401


def test_unknown_key_ids_do_not_flood_the_jwks_url(
    broker_factory: BrokerFactory, jwks_url: str, tmp_path: Path
) -> None:
    storage = {"backend": "local", "local": {"directory": str(tmp_path / "store")}}
    broker = broker_factory(storage, auth={"enabled": True, "jwt_jwks_url": jwks_url})
    url = f"{broker.url}/upload/{uuid.uuid4()}/uploads"

    def initiate(bearer: str) -> int:
        headers = {"Authorization": f"Bearer {bearer}"}
        return httpx.post(url, params={"fileSize": 10}, headers=headers).status_code

    assert initiate(token()) == 200
    for number in range(20):
        assert initiate(token(kid=f"made-up-{number}")) == 401
    assert initiate(token()) == 200
    # The keys were fetched once; made-up key ids may fetch again at most once a minute.
    assert 1 <= len(Jwks.fetches) <= 2
