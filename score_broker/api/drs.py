"""GA4GH DRS 1.2.0 at /ga4gh/drs/v1: service-info, objects and their access URLs.

Errors on these paths are DRS's `{"msg", "status_code"}` (see `api/errors.py`).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from score_broker.api.deps import IdentityDep, ServicesDep

PREFIX = "/ga4gh/drs/v1"
router = APIRouter(prefix=PREFIX, tags=["ga4gh-drs"])


@router.get("/service-info", summary="GA4GH service-info of the DRS API")
async def service_info(svc: ServicesDep) -> dict[str, Any]:
    return svc.drs.service_info()


@router.get("/objects/{object_id}", summary="A DRS object: size, MD5, name, access method")
def drs_object(object_id: str, svc: ServicesDep, caller: IdentityDep) -> dict[str, Any]:
    return svc.drs.drs_object(caller, object_id)


@router.get(
    "/objects/{object_id}/access/{access_id}",
    summary="A pre-signed URL of the whole object",
)
def access_url(
    object_id: str, access_id: str, svc: ServicesDep, caller: IdentityDep
) -> dict[str, Any]:
    return svc.drs.access_url(caller, object_id, access_id)
