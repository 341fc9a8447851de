"""`/profile` (which upload flow to use) and `/health` (liveness plus storage reachability)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse, PlainTextResponse

from score_broker.api.deps import services
from score_broker.errors import StorageUnavailable
from score_broker.services import Services

router = APIRouter(tags=["service"])
ServicesDep = Annotated[Services, Depends(services)]


@router.get("/profile", response_class=PlainTextResponse, summary="Storage profile: s3 or az")
def profile(svc: ServicesDep) -> str:
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
