"""Keycloak's permissions for a caller, as Score asks for them (KeycloakAuthorizationService).

The caller's JWT goes as Bearer to `<keycloak_url>/realms/<realm>/protocol/openid-connect/token`
with `grant_type=urn:ietf:params:oauth:grant-type:uma-ticket`, `audience=<client id>` and
`response_mode=permissions`; the answer is a JSON array of `{rsid, rsname, scopes}`, and each
granted scope becomes `<rsname>.<scope>` (Score's Scopes.extractGrantedScopesFromRpt).
"""

from __future__ import annotations

import hashlib
import threading
from typing import Any
from urllib.parse import quote

import httpx
from cachetools import TTLCache

from score_broker.errors import StorageUnavailable, Unauthorized

UMA_GRANT_TYPE = "urn:ietf:params:oauth:grant-type:uma-ticket"
#: How long a caller's permissions are kept, and how many callers' at once.
CACHE_SECONDS = 30
CACHE_ENTRIES = 10_000


def realm_url(keycloak_url: str, realm: str) -> str:
    return f"{keycloak_url.rstrip('/')}/realms/{quote(realm, safe='')}"


def scopes_from_permissions(permissions: Any) -> frozenset[str]:
    """`<rsname>.<scope>` for each scope of each permission, as Score maps an RPT."""
    found: set[str] = set()
    for permission in permissions if isinstance(permissions, list) else []:
        if not isinstance(permission, dict) or not isinstance(permission.get("scopes"), list):
            continue
        name = permission.get("rsname")
        found.update(f"{name}.{scope}" for scope in permission["scopes"] if isinstance(scope, str))
    return frozenset(found)


class KeycloakPermissions:
    """Asks Keycloak which resources and scopes a JWT's holder is granted; kept briefly."""

    def __init__(self, keycloak_url: str, realm: str, client_id: str, timeout: float = 10) -> None:
        self.url = realm_url(keycloak_url, realm) + "/protocol/openid-connect/token"
        self.client_id = client_id
        self._http = httpx.Client(timeout=timeout)
        self._cache: TTLCache[str, frozenset[str]] = TTLCache(CACHE_ENTRIES, CACHE_SECONDS)
        self._lock = threading.Lock()

    def scopes(self, token: str) -> frozenset[str]:
        key = hashlib.sha256(token.encode()).hexdigest()
        with self._lock:
            cached = self._cache.get(key)
        if cached is not None:
            return cached
        scopes = self._ask(token)
        with self._lock:
            self._cache[key] = scopes
        return scopes

    def _ask(self, token: str) -> frozenset[str]:
        form = {"grant_type": UMA_GRANT_TYPE, "audience": self.client_id}
        form["response_mode"] = "permissions"
        try:
            response = self._http.post(
                self.url, data=form, headers={"Authorization": f"Bearer {token}"}
            )
        except httpx.HTTPError as error:
            raise StorageUnavailable(f"Cannot reach Keycloak for permissions: {error}.") from error
        if response.status_code == 403:
            return frozenset()  # a valid token whose holder is granted nothing here
        if 400 <= response.status_code < 500:
            raise Unauthorized("Keycloak refused the token; log in again for a new one.")
        if response.status_code not in (200, 207):
            raise StorageUnavailable(
                f"Keycloak answered HTTP {response.status_code} when asked for permissions."
            )
        try:
            return scopes_from_permissions(response.json())
        except ValueError:
            raise StorageUnavailable("Keycloak's permissions were not JSON.") from None
