"""JWTs signed with RS256 by Ego or Keycloak: signature, expiry, issuer and audience checked."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jwt

from score_broker.auth.identity import Identity
from score_broker.auth.public_key import PublicKeyUrl
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


class JwtVerifier:
    """Verifies RS256 JWTs with a PEM public key or the keys of a JWKS URL."""

    def __init__(
        self,
        public_key_file: str = "",
        jwks_url: str = "",
        issuer: str = "",
        audience: str = "",
        public_key_url: str = "",
    ) -> None:
        self._key: Any = None
        self._jwks: jwt.PyJWKClient | None = None
        self._key_url: PublicKeyUrl | None = None
        if public_key_file:
            self._key = Path(public_key_file).expanduser().read_bytes()
        elif public_key_url:
            self._key_url = PublicKeyUrl(public_key_url)
        elif jwks_url:
            # Keys are fetched again when 5 minutes old, or when a token names a key id they
            # lack, but then at most once a minute: made-up key ids cannot flood the issuer.
            self._jwks = jwt.PyJWKClient(
                jwks_url, cache_keys=True, lifespan=300, timeout=10, cooldown_duration=60
            )
        self.issuer = issuer or None
        self.audience = audience or None

    @property
    def configured(self) -> bool:
        return any(k is not None for k in (self._key, self._jwks, self._key_url))

    @property
    def verifies_offline(self) -> bool:
        """Whether checking a token needs no network (no key to fetch)."""
        return self._jwks is None and self._key_url is None

    def _decode(self, token: str, key: Any) -> dict[str, Any]:
        claims: dict[str, Any] = jwt.decode(
            token,
            key,
            algorithms=["RS256"],
            issuer=self.issuer,
            audience=self.audience,
            options={"require": ["exp"], "verify_aud": self.audience is not None},
        )
        return claims

    def _claims(self, token: str) -> dict[str, Any]:
        if self._jwks is not None:
            return self._decode(token, self._jwks.get_signing_key_from_jwt(token).key)
        if self._key_url is None:
            return self._decode(token, self._key)
        key = self._key_url.key
        if key is None:
            raise StorageUnavailable(f"Cannot fetch the JWT public key at {self._key_url.url}.")
        try:
            return self._decode(token, key)
        except jwt.InvalidSignatureError:
            fresh = self._key_url.refresh()  # the issuer may have changed its key
            if fresh is None or fresh == key:
                raise
            return self._decode(token, fresh)

    def claims(self, token: str) -> dict[str, Any]:
        """The verified token's claims; Unauthorized (or StorageUnavailable) otherwise."""
        if not self.configured:
            raise Unauthorized("The token is not an API key this broker knows.")
        try:
            return self._claims(token)
        except jwt.ExpiredSignatureError:
            raise Unauthorized(
                "The token has expired; log in again for a new one.", "expired_token"
            ) from None
        except jwt.PyJWKClientConnectionError as error:
            raise StorageUnavailable(f"Cannot fetch the JWT signing keys: {error}.") from error
        except jwt.PyJWTError as error:
            raise Unauthorized(f"The token is not valid: {error}.") from None

    def identify(self, token: str) -> Identity:
        claims = self.claims(token)
        return Identity(subject=subject_of(claims), scopes=scopes_of(claims))


def subject_of(claims: dict[str, Any]) -> str:
    return "jwt:" + str(claims.get("sub") or claims.get("user_id") or "jwt")
