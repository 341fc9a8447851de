"""`/profile` (which upload flow to use) and `/health` (liveness plus storage reachability)."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, PlainTextResponse

from score_broker.api.deps import IdentityDep, ServicesDep
from score_broker.errors import StorageUnavailable

log = logging.getLogger(__name__)
router = APIRouter(tags=["service"])


@router.get("/profile", response_class=PlainTextResponse, summary="Storage profile: s3 or az")
def profile(svc: ServicesDep, _: IdentityDep) -> str:
    return svc.store.profile


@router.get("/health", summary="UP or 503 DOWN; storage details for callers with a token")
@router.get("/actuator/health", include_in_schema=False)
def health(request: Request, svc: ServicesDep, caller: IdentityDep) -> JSONResponse:
    """Anyone may ask whether the broker is up; where its store is (a path, buckets, free
    space) is told only to callers with a valid token, in development mode, or everywhere
    with `[server] health_details = true`."""
    show = caller is not None or not svc.access.enabled
    show = show or request.app.state.settings.server.health_details
    try:
        details = svc.store.check()
    except StorageUnavailable as error:
        log.warning("health check: %s", error)
        down = {"status": "DOWN", **({"details": {"error": str(error)}} if show else {})}
        return JSONResponse({"status": "DOWN", "components": {"storage": down}}, 503)
    storage: dict[str, Any] = {"status": "UP"}
    if show:
        storage["details"] = {"backend": svc.backend, **details}
    return JSONResponse({"status": "UP", "components": {"storage": storage}})
