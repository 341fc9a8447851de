"""Checking API keys against Ego or Keycloak's API-key plugin, as Score does (contract 6.3)."""

from __future__ import annotations

import hashlib
import threading
import time
from typing import Any

import httpx

from score_broker.auth.identity import Identity
from score_broker.errors import StorageUnavailable, Unauthorized


class Introspector:
    """POSTs the key as a form field with client credentials; caches positive answers briefly."""

    def __init__(
        self,
        url: str,
        client_id: str,
        client_secret: str,
        token_name: str = "apiToken",  # noqa: S107 (a form field name)
        cache_seconds: int = 60,
    ) -> None:
        self.url = url
        self.token_name = token_name
        self.cache_seconds = cache_seconds
        self._http = httpx.Client(auth=(client_id, client_secret), timeout=10)
        self._cache: dict[str, tuple[float, Identity]] = {}
        self._lock = threading.Lock()

    def identify(self, token: str) -> Identity:
        key = hashlib.sha256(token.encode()).hexdigest()
        now = time.monotonic()
        with self._lock:
            cached = self._cache.get(key)
        if cached is not None and cached[0] > now:
            return cached[1]
        identity = self._introspect(token)
        with self._lock:
            self._cache[key] = (now + self.cache_seconds, identity)
        return identity

    def _introspect(self, token: str) -> Identity:
        try:
            response = self._http.post(self.url, files={self.token_name: (None, token)})
        except httpx.HTTPError as error:
            raise StorageUnavailable(
                f"Cannot reach the token introspection service: {error}."
            ) from error
        if 400 <= response.status_code < 500:
            raise Unauthorized("The API key was refused by the authorization server.")
        if response.status_code not in (200, 207):
            raise StorageUnavailable(
                f"The token introspection service answered HTTP {response.status_code}."
            )
        try:
            body: Any = response.json()
        except ValueError:
            raise StorageUnavailable(
                "The token introspection service did not answer JSON."
            ) from None
        if not isinstance(body, dict):
            raise StorageUnavailable("The token introspection service did not answer an object.")
        if (
            body.get("error")
            or body.get("exp") == 0
            or body.get("revoked") is True
            or body.get("valid") is False
        ):
            raise Unauthorized("The API key is expired, revoked or not valid.")
        scopes = body.get("scope")
        if not isinstance(scopes, list):
            raise Unauthorized("The authorization server returned no scopes for the API key.")
        subject = str(body.get("user_id") or "introspected")
        return Identity(subject=f"user:{subject}", scopes=frozenset(str(s) for s in scopes))
