"""The one place a bearer token is turned into an identity (contract 6.2)."""

from __future__ import annotations

from score_broker import metrics
from score_broker.auth.identity import Identity, looks_like_api_key
from score_broker.auth.introspection import Introspector
from score_broker.auth.jwt_tokens import JwtVerifier, subject_of
from score_broker.auth.keycloak import KeycloakPermissions
from score_broker.auth.keys import KeyStore
from score_broker.errors import Unauthorized


class Authenticator:
    """UUID-shaped tokens are API keys (ours, else introspected); anything else is a JWT."""

    def __init__(
        self,
        keys: KeyStore,
        jwt: JwtVerifier,
        introspector: Introspector | None = None,
        permissions: KeycloakPermissions | None = None,
    ) -> None:
        self.keys = keys
        self.jwt = jwt
        self.introspector = introspector
        self.permissions = permissions

    def checks_locally(self, authorization: str) -> bool:
        """Whether identifying this token needs no network: one of our API keys in a local file,
        or a JWT checked against a configured public key (not a JWKS, which may need fetching)."""
        token = authorization[7:].strip()
        if looks_like_api_key(token):
            return self.keys.local and (self.introspector is None or self.keys.knows(token))
        return self.jwt.verifies_offline and self.permissions is None

    def identify(self, authorization: str | None) -> Identity | None:
        """None for an anonymous request; Unauthorized when a token is given but not valid."""
        if authorization is None:
            return None
        try:
            return self._identify(authorization)
        except Unauthorized as refusal:
            metrics.refused(refusal.reason)
            raise

    def _identify(self, authorization: str) -> Identity:
        if authorization[:7].lower() != "bearer ":
            raise Unauthorized("The Authorization header must be 'Bearer <token>'.")
        token = authorization[7:].strip()
        if not token:
            raise Unauthorized("The Authorization header has an empty bearer token.")
        if looks_like_api_key(token):
            identity = self.keys.identify(token)
            if identity is not None:
                return identity
            if self.introspector is not None:
                return self.introspector.identify(token)
            raise Unauthorized("The API key is not known to this broker.")
        if self.permissions is None:
            return self.jwt.identify(token)
        # Keycloak: the token's holder gets the permissions Keycloak grants, nothing else.
        claims = self.jwt.claims(token)
        return Identity(subject=subject_of(claims), scopes=self.permissions.scopes(token))
