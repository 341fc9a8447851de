"""`/profile` (which upload flow to use) and `/health` (liveness plus storage reachability)."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse, PlainTextResponse

from score_broker.api.deps import IdentityDep, ServicesDep
from score_broker.errors import StorageUnavailable

router = APIRouter(tags=["service"])


@router.get("/profile", response_class=PlainTextResponse, summary="Storage profile: s3 or az")
def profile(svc: ServicesDep, _: IdentityDep) -> str:
    return svc.store.profile


@router.get("/health", summary="UP with storage details, or 503 DOWN")
@router.get("/actuator/health", include_in_schema=False)
def health(svc: ServicesDep) -> JSONResponse:
    try:
        details = svc.store.check()
    except StorageUnavailable as error:
        storage = {"status": "DOWN", "details": {"error": str(error)}}
        return JSONResponse({"status": "DOWN", "components": {"storage": storage}}, 503)
    storage = {"status": "UP", "details": {"backend": svc.backend, **details}}
    return JSONResponse({"status": "UP", "components": {"storage": storage}})
