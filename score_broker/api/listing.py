"""Score's `/listing` (every object) and `/actuator/info` (the broker's name and version)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from starlette.concurrency import run_in_threadpool

from score_broker import __version__
from score_broker.api.deps import IdentityDep, ServicesDep

router = APIRouter(tags=["service"])


@router.get("/listing", summary="Every object: id, lastModified (epoch ms) and size")
async def listing(svc: ServicesDep, caller: IdentityDep) -> list[dict[str, Any]]:
    svc.access.check_listing(caller)
    return await run_in_threadpool(svc.listing.listing)


@router.get("/actuator/info", summary="The broker's name and version (any valid token)")
def info(svc: ServicesDep, caller: IdentityDep) -> dict[str, Any]:
    svc.access.check_authenticated(caller)
    return {"build": {"name": "score-broker", "artifact": "score-broker", "version": __version__}}
