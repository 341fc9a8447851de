"""Access to the services the application was built with, and the caller's identity."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from score_broker.auth.identity import Identity
from score_broker.services import Services


def services(request: Request) -> Services:
    return request.app.state.services  # type: ignore[no-any-return]


def identity(request: Request, svc: Annotated[Services, Depends(services)]) -> Identity | None:
    """The caller, None if anonymous; a present but invalid token is refused (401) everywhere."""
    if not svc.access.enabled:
        return None
    return svc.authenticator.identify(request.headers.get("authorization"))


ServicesDep = Annotated[Services, Depends(services)]
IdentityDep = Annotated[Identity | None, Depends(identity)]
