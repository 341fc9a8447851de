"""JWTs signed with RS256 by Ego or Keycloak: signature, expiry, issuer and audience checked."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import jwt

from score_broker.auth.identity import Identity
from score_broker.errors import StorageUnavailable, Unauthorized


def scopes_of(claims: dict[str, Any]) -> frozenset[str]:
    """Scopes from Ego's `context.scope` array or a `scope` claim (array or space-separated)."""
    found: set[str] = set()
    context = claims.get("context")
    if isinstance(context, dict) and isinstance(context.get("scope"), list):
        found.update(str(s) for s in context["scope"])
    scope = claims.get("scope")
    if isinstance(scope, str):
        found.update(scope.split())
    elif isinstance(scope, list):
        found.update(str(s) for s in scope)
    return frozenset(found)


class JwksKeys:
    """The signing keys of a JWKS URL, fetched again when they are `lifespan` seconds old or a
    token names a key they lack, but never more than once per `min_interval`: tokens with
    made-up key ids must not turn into one request each to the identity provider."""

    def __init__(self, url: str, lifespan: float = 300, min_interval: float = 60) -> None:
        self._client = jwt.PyJWKClient(url, cache_jwk_set=False, cache_keys=False, timeout=10)
        self.lifespan = lifespan
        self.min_interval = min_interval
        self._keys: dict[str | None, Any] = {}
        self._fetched = -float("inf")
        self._lock = threading.Lock()

    def key_for(self, token: str) -> Any:
        kid = jwt.get_unverified_header(token).get("kid")
        with self._lock:
            age = time.monotonic() - self._fetched
            if age > self.lifespan or (kid not in self._keys and age > self.min_interval):
                self._fetch()
            if kid is None and len(self._keys) == 1:
                return next(iter(self._keys.values()))
            if kid not in self._keys:
                raise jwt.InvalidTokenError(f"no signing key {str(kid)[:40]!r} at the JWKS URL")
            return self._keys[kid]

    def _fetch(self) -> None:
        keys = self._client.get_signing_keys(refresh=True)
        self._keys = {key.key_id: key.key for key in keys}
        self._fetched = time.monotonic()


class JwtVerifier:
    """Verifies RS256 JWTs with a PEM public key or the keys of a JWKS URL."""

    def __init__(
        self, public_key_file: str = "", jwks_url: str = "", issuer: str = "", audience: str = ""
    ) -> None:
        self._key: Any = None
        self._jwks: JwksKeys | None = None
        if public_key_file:
            self._key = Path(public_key_file).expanduser().read_bytes()
        elif jwks_url:
            self._jwks = JwksKeys(jwks_url)
        self.issuer = issuer or None
        self.audience = audience or None

    @property
    def configured(self) -> bool:
        return self._key is not None or self._jwks is not None

    @property
    def verifies_offline(self) -> bool:
        """Whether checking a token needs no network (no JWKS to fetch)."""
        return self._jwks is None

    def identify(self, token: str) -> Identity:
        if not self.configured:
            raise Unauthorized("The token is not an API key this broker knows.")
        try:
            key = self._key
            if self._jwks is not None:
                key = self._jwks.key_for(token)
            claims = jwt.decode(
                token,
                key,
                algorithms=["RS256"],
                issuer=self.issuer,
                audience=self.audience,
                options={"require": ["exp"], "verify_aud": self.audience is not None},
            )
        except jwt.ExpiredSignatureError:
            raise Unauthorized("The token has expired; log in again for a new one.") from None
        except jwt.PyJWKClientConnectionError as error:
            raise StorageUnavailable(f"Cannot fetch the JWT signing keys: {error}.") from error
        except jwt.PyJWTError as error:
            raise Unauthorized(f"The token is not valid: {error}.") from None
        subject = str(claims.get("sub") or claims.get("user_id") or "jwt")
        return Identity(subject=f"jwt:{subject}", scopes=scopes_of(claims))
