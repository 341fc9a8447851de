"""Identity providers the tests start: a Keycloak-like OIDC/UMA issuer and an Ego-like public
key endpoint, real HTTP servers in threads."""

from __future__ import annotations

import json
import threading
import time
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

UMA_GRANT_TYPE = "urn:ietf:params:oauth:grant-type:uma-ticket"


def new_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def pem_of(key: rsa.RSAPrivateKey) -> str:
    return (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


@dataclass
class Issuer:
    """Signs JWTs; serves the realm's certs and answers UMA permission requests with the
    permissions granted to each subject (`grants`: subject -> [(rsname, [scope, ...])])."""

    realm: str = "score"
    client_id: str = "score-broker"
    key: rsa.RSAPrivateKey = field(default_factory=new_key)
    grants: dict[str, list[tuple[str, list[str]]]] = field(default_factory=dict)
    permission_calls: list[str] = field(default_factory=list)
    key_down: bool = False
    server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        assert self.server is not None
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def broker_auth(self) -> dict[str, Any]:
        """A broker's `[auth]` table for this issuer as its Keycloak."""
        return {
            "enabled": True,
            "provider": "keycloak",
            "keycloak_url": self.url,
            "keycloak_realm": self.realm,
            "keycloak_client_id": self.client_id,
        }

    def token(self, subject: str, **claims: Any) -> str:
        body = {"sub": subject, "exp": int(time.time()) + 600, "scope": "openid profile"}
        return jwt.encode({**body, **claims}, self.key, algorithm="RS256", headers={"kid": "k1"})

    def start(self) -> Issuer:
        issuer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                realm = f"/realms/{issuer.realm}/protocol/openid-connect"
                if self.path == f"{realm}/certs":
                    jwk = json.loads(RSAAlgorithm.to_jwk(issuer.key.public_key()))
                    keys = {"keys": [{**jwk, "kid": "k1", "use": "sig", "alg": "RS256"}]}
                    self._answer(200, json.dumps(keys).encode(), "application/json")
                elif self.path == "/oauth/token/public_key" and not issuer.key_down:
                    self._answer(200, pem_of(issuer.key).encode(), "text/plain")
                else:
                    self._answer(503 if issuer.key_down else 404, b"{}", "application/json")

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
                bearer = (self.headers.get("Authorization") or "")[7:]
                try:
                    claims = jwt.decode(bearer, issuer.key.public_key(), algorithms=["RS256"])
                except jwt.PyJWTError:
                    self._answer(401, b'{"error":"invalid_grant"}', "application/json")
                    return
                expected = {
                    "grant_type": UMA_GRANT_TYPE,
                    "audience": issuer.client_id,
                    "response_mode": "permissions",
                }
                if form != expected:
                    self._answer(400, b'{"error":"invalid_request"}', "application/json")
                    return
                issuer.permission_calls.append(claims["sub"])
                granted = issuer.grants.get(claims["sub"])
                if not granted:
                    self._answer(403, b'{"error":"access_denied"}', "application/json")
                    return
                rpt = [
                    {"rsid": str(uuid.uuid4()), "rsname": name, "scopes": scopes}
                    for name, scopes in granted
                ]
                self._answer(200, json.dumps(rpt).encode(), "application/json")

            def _answer(self, status: int, body: bytes, kind: str) -> None:
                self.send_response(status)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *_: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
