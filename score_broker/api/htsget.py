"""GA4GH htsget 1.3 reads endpoints: service-info and tickets, with htsget's error shape."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from score_broker import __version__
from score_broker.api.deps import ServicesDep, identity
from score_broker.errors import BrokerError, Forbidden, InvalidRequest, NotFound, Unauthorized
from score_broker.services.htsget import FORMATS, HtsgetError, ReadsQuery

router = APIRouter(prefix="/ga4gh/htsget/v1", tags=["htsget"])
MEDIA_TYPE = "application/vnd.ga4gh.htsget.v1.3.0+json; charset=utf-8"
#: Parameters this server does not filter by (it returns whole records).
UNSUPPORTED = ("fields", "tags", "notags", "referenceMD5")


def _refusal(error: BrokerError) -> JSONResponse:
    if isinstance(error, HtsgetError):
        kind = error.kind
    elif isinstance(error, Unauthorized):
        kind = "InvalidAuthentication"
    elif isinstance(error, Forbidden):
        kind = "PermissionDenied"
    elif isinstance(error, NotFound):
        kind = "NotFound"
    elif isinstance(error, InvalidRequest):
        kind = "InvalidInput"
    else:
        raise error
    body = {"htsget": {"error": kind, "message": str(error)}}
    return JSONResponse(body, status_code=error.status, media_type=MEDIA_TYPE)


def _position(params: Any, name: str) -> int | None:
    text = params.get(name)
    if text is None:
        return None
    if not text.isdigit():
        raise HtsgetError(
            "InvalidRange", f"{name} must be a whole number of 0 or more, not {text!r}."
        )
    return int(text)


def parse_query(params: Any) -> ReadsQuery:
    """The ticket request's parameters, checked as the spec says."""
    data_format = params.get("format", "BAM").upper()
    if data_format not in FORMATS:
        raise HtsgetError(
            "UnsupportedFormat", f"format {data_format!r}: only BAM and CRAM are served."
        )
    for name in UNSUPPORTED:
        if name in params:
            raise HtsgetError("InvalidInput", f"The parameter {name} is not supported here.")
    kind = params.get("class")
    if kind not in (None, "header"):
        raise HtsgetError("InvalidInput", f"class must be 'header' or absent, not {kind!r}.")
    reference = params.get("referenceName")
    start, end = _position(params, "start"), _position(params, "end")
    if reference is None and (start is not None or end is not None):
        raise HtsgetError("InvalidInput", "start and end need a referenceName.")
    if reference == "*":
        raise HtsgetError("InvalidInput", "referenceName=* (unplaced reads) is not supported.")
    if start is not None and end is not None and start > end:
        raise HtsgetError("InvalidRange", f"start {start} is after end {end}.")
    return ReadsQuery(data_format, reference, start, end, kind == "header")


@router.get("/reads/service-info", summary="GA4GH service-info of the htsget reads endpoint")
def service_info() -> JSONResponse:
    body = {
        "id": "org.overture.score-broker.htsget",
        "name": "score-broker htsget",
        "type": {"group": "org.ga4gh", "artifact": "htsget", "version": "1.3.0"},
        "description": "Byte ranges of BAM and CRAM objects by region, on pre-signed URLs.",
        "organization": {"name": "score-broker", "url": "https://github.com/overture-stack"},
        "version": __version__,
        "htsget": {
            "datatype": "reads",
            "formats": list(FORMATS),
            "fieldsParametersEffective": False,
            "tagsParametersEffective": False,
        },
    }
    return JSONResponse(body, media_type="application/json")


@router.get("/reads/{object_id}", summary="An htsget ticket: the URLs holding a region's reads")
async def reads(object_id: str, request: Request, svc: ServicesDep) -> JSONResponse:
    try:
        query = parse_query(request.query_params)
        caller = await identity(request, svc)
        known = svc.access.check_download(caller, object_id, exclude_urls=True)
        entity = svc.access.published_entity(object_id, known)
        if entity is None:
            raise HtsgetError("NotFound", "htsget needs Song to find an object's index.")
        ticket = await svc.htsget.ticket(entity, query)
    except BrokerError as error:
        return _refusal(error)
    return JSONResponse(ticket, media_type=MEDIA_TYPE)
