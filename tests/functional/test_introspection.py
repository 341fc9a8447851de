"""API keys the broker does not know are checked against an Ego-style introspection server."""

from __future__ import annotations

import base64
import json
import threading
import uuid
from collections.abc import Iterator
from email.parser import BytesParser
from email.policy import HTTP
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest

from tests.conftest import BrokerFactory

GOOD = str(uuid.uuid4())
REVOKED = str(uuid.uuid4())


class EgoIntrospection(BaseHTTPRequestHandler):
    """Answers like Ego's /o/check_api_key: client credentials, a multipart `apiToken` field."""

    calls: list[str] = []  # noqa: RUF012

    def do_POST(self) -> None:
        expected = "Basic " + base64.b64encode(b"score:secret").decode()
        length = int(self.headers["Content-Length"])
        raw = f"Content-Type: {self.headers['Content-Type']}\r\n\r\n".encode() + self.rfile.read(
            length
        )
        form = BytesParser(policy=HTTP).parsebytes(raw)
        token = next(
            (
                p.get_content()
                for p in form.iter_parts()
                if p.get_param("name", header="content-disposition") == "apiToken"
            ),
            None,
        )
        self.calls.append(str(token))
        if self.headers.get("Authorization") != expected:
            self._answer(401, {"error": "bad client"})
        elif token == GOOD:
            self._answer(
                200, {"user_id": "u1", "exp": 3600, "scope": ["score.READ", "score.WRITE"]}
            )
        elif token == REVOKED:
            self._answer(200, {"user_id": "u2", "exp": 3600, "revoked": True, "scope": []})
        else:
            self._answer(400, {"error": "invalid_token"})

    def _answer(self, status: int, body: dict[str, object]) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *_: object) -> None:
        pass


@pytest.fixture
def ego() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), EgoIntrospection)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    EgoIntrospection.calls.clear()
    yield f"http://127.0.0.1:{server.server_address[1]}/o/check_api_key"
    server.shutdown()


def test_introspected_keys(broker_factory: BrokerFactory, ego: str, tmp_path: Path) -> None:
    auth = {
        "enabled": True,
        "introspection_url": ego,
        "introspection_client_id": "score",
        "introspection_client_secret": "secret",
        "introspection_cache_seconds": 60,
    }
    storage = {"backend": "local", "local": {"directory": str(tmp_path / "store")}}
    broker = broker_factory(storage, auth=auth)
    object_id = str(uuid.uuid4())

    def initiate(token: str) -> int:
        return httpx.post(
            f"{broker.url}/upload/{object_id}/uploads",
            params={"fileSize": 10},
            headers={"Authorization": f"Bearer {token}"},
        ).status_code

    assert initiate(GOOD) == 200
    assert initiate(GOOD) == 200
    assert EgoIntrospection.calls.count(GOOD) == 1  # the second answer came from the cache
    unknown = str(uuid.uuid4())
    for _ in range(3):
        assert initiate(REVOKED) == 401
        assert initiate(unknown) == 401
    # Refusals are remembered too: guessing keys costs Ego one call per key, not per request.
    assert EgoIntrospection.calls.count(REVOKED) == 1
    assert EgoIntrospection.calls.count(unknown) == 1
