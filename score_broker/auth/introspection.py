"""Checking API keys against Ego or Keycloak's API-key plugin, as Score does (contract 6.3)."""

from __future__ import annotations

import hashlib
import threading
from typing import Any

import httpx
from cachetools import TTLCache

from score_broker.auth.identity import Identity
from score_broker.errors import StorageUnavailable, Unauthorized

#: Keys whose answers are kept at once (each side); the oldest go first.
CACHE_ENTRIES = 10_000


class Introspector:
    """POSTs the key as a form field with client credentials.

    Answers are kept for `cache_seconds`, refusals too: a caller trying unknown keys costs the
    identity provider one call per key and period, not one per request. Both caches are
    bounded, so a flood of random keys cannot grow the broker's memory."""

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
        ttl = max(cache_seconds, 0.001)
        self._granted: TTLCache[str, Identity] = TTLCache(CACHE_ENTRIES, ttl)
        self._refused: TTLCache[str, Unauthorized] = TTLCache(CACHE_ENTRIES, ttl)
        self._lock = threading.Lock()

    def identify(self, token: str) -> Identity:
        key = hashlib.sha256(token.encode()).hexdigest()
        with self._lock:
            identity = self._granted.get(key)
            refusal = self._refused.get(key)
        if identity is not None:
            return identity
        if refusal is not None:
            raise Unauthorized(str(refusal))
        try:
            identity = self._introspect(token)
        except Unauthorized as error:
            if self.cache_seconds > 0:
                with self._lock:
                    self._refused[key] = error
            raise
        if self.cache_seconds > 0:
            with self._lock:
                self._granted[key] = identity
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
