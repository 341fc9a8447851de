"""Access to the services the application was built with, and the caller's identity."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from starlette.concurrency import run_in_threadpool

from score_broker.auth.identity import Identity
from score_broker.services import Services


async def services(request: Request) -> Services:
    return request.app.state.services  # type: ignore[no-any-return]


async def identity(
    request: Request, svc: Annotated[Services, Depends(services)]
) -> Identity | None:
    """The caller, None if anonymous; a present but invalid token is refused (401) everywhere.

    A dependency that is not a coroutine would cost every request a trip to the thread pool;
    tokens that need the network to check (introspection, a JWKS refresh) still go there."""
    authorization = request.headers.get("authorization")
    if not svc.access.enabled or authorization is None:
        return None
    authenticator = svc.authenticator
    if authenticator.checks_locally(authorization):
        return authenticator.identify(authorization)
    return await run_in_threadpool(authenticator.identify, authorization)


ServicesDep = Annotated[Services, Depends(services)]
IdentityDep = Annotated[Identity | None, Depends(identity)]
