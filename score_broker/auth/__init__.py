"""Turning a bearer token into an identity with scopes: API keys, JWTs, introspection."""
