"""Score's download endpoints: the sentinel ping and download specs."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import PlainTextResponse

from score_broker.api.deps import IdentityDep, ServicesDep

router = APIRouter(prefix="/download", tags=["download"])


@router.get("/ping", response_class=PlainTextResponse, summary="A URL of the sentinel object")
def ping(svc: ServicesDep, _: IdentityDep) -> str:
    return svc.downloads.ping_url()


@router.get("/{object_id}", summary="The download spec of an object, or of a byte range of it")
def download_spec(
    object_id: str,
    svc: ServicesDep,
    caller: IdentityDep,
    offset: Annotated[int, Query()],
    length: Annotated[int, Query()],
    external: Annotated[bool, Query()] = False,
    exclude_urls: Annotated[bool, Query(alias="exclude-urls")] = False,
) -> dict[str, Any]:
    svc.access.check_download(caller, object_id, exclude_urls)
    return svc.downloads.spec(object_id, offset, length, external, exclude_urls).to_wire()
