"""CORS for web portals ([server] cors_origins): what a browser sees from an allowed origin, an
origin not allowed, and a broker with no origins configured."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import BrokerFactory

PORTAL = "https://portal.example.org"
OTHER = "https://elsewhere.example.net"
PREFLIGHT = {
    "Access-Control-Request-Method": "GET",
    "Access-Control-Request-Headers": "authorization,range,x-request-id",
}


def cors_headers(response: httpx.Response) -> dict[str, str]:
    return {k: v for k, v in response.headers.items() if k.startswith("access-control-")}


def listed(value: str) -> set[str]:
    return {item.strip().lower() for item in value.split(",")}


@pytest.fixture
def start(broker_factory: BrokerFactory, tmp_path: Path) -> Any:
    """A broker with authorization on and these `cors_origins` (None: the key left out)."""

    def start(origins: list[str] | None) -> str:
        server = {} if origins is None else {"cors_origins": origins}
        store = {"backend": "local", "local": {"directory": str(tmp_path / "store")}}
        return broker_factory(store, auth={"enabled": True}, **server).url

    return start


def test_allowed_origin_preflight_is_answered_before_authorization(start: Any) -> None:
    # Configured with capitals, as an admin may write it; browsers send origins in lower case.
    url = start(["https://Portal.Example.org", "http://localhost:3000"])
    response = httpx.options(
        f"{url}/download/{uuid.uuid4()}", headers={"Origin": PORTAL, **PREFLIGHT}
    )
    assert response.status_code == 200, response.text
    assert response.headers["Access-Control-Allow-Origin"] == PORTAL
    methods = listed(response.headers["Access-Control-Allow-Methods"])
    assert {"get", "head", "post", "put", "patch", "delete", "options"} <= methods
    allowed = listed(response.headers["Access-Control-Allow-Headers"])
    assert {"authorization", "content-type", "range", "x-request-id", "content-md5"} <= allowed
    assert "Access-Control-Allow-Credentials" not in response.headers
    assert response.headers["X-Request-Id"]


def test_disallowed_origin_gets_no_cors_headers(start: Any) -> None:
    url = start([PORTAL])
    target = f"{url}/download/{uuid.uuid4()}"
    preflight = httpx.options(target, headers={"Origin": OTHER, **PREFLIGHT})
    assert preflight.status_code == 400
    assert cors_headers(preflight) == {}
    actual = httpx.get(f"{url}/health", headers={"Origin": OTHER})
    assert actual.status_code == 200
    assert cors_headers(actual) == {}
    assert "Origin" in actual.headers["Vary"]


def test_actual_requests_expose_the_request_id(start: Any) -> None:
    url = start([PORTAL])
    refused = f"/download/{uuid.uuid4()}?offset=0&length=-1"  # no token: an error answer
    for path, status in (("/health", 200), (refused, 403)):
        response = httpx.get(f"{url}{path}", headers={"Origin": PORTAL})
        assert response.status_code == status, response.text
        assert response.headers["Access-Control-Allow-Origin"] == PORTAL
        exposed = listed(response.headers["Access-Control-Expose-Headers"])
        assert {"x-request-id", "content-range", "content-length", "etag"} <= exposed
        assert response.headers["X-Request-Id"]


def test_any_origin(start: Any) -> None:
    url = start(["*"])
    preflight = httpx.options(f"{url}/health", headers={"Origin": OTHER, **PREFLIGHT})
    assert preflight.status_code == 200
    assert preflight.headers["Access-Control-Allow-Origin"] == "*"
    assert "Access-Control-Allow-Credentials" not in preflight.headers
    actual = httpx.get(f"{url}/health", headers={"Origin": OTHER})
    assert actual.headers["Access-Control-Allow-Origin"] == "*"


def test_no_origins_configured_changes_nothing(start: Any) -> None:
    url = start(None)
    target = f"{url}/download/{uuid.uuid4()}"
    plain = httpx.options(target)
    preflight = httpx.options(target, headers={"Origin": PORTAL, **PREFLIGHT})
    assert preflight.status_code == plain.status_code != 200
    assert cors_headers(preflight) == {}
    actual = httpx.get(f"{url}/health", headers={"Origin": PORTAL})
    assert actual.status_code == 200
    assert cors_headers(actual) == {}
    assert "Vary" not in actual.headers
