"""The embedded Song's REST API at /song, with Song's paths, parameters and bodies."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Annotated, Any, TypeVar

import anyio
from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response

from score_broker.api import deps
from score_broker.api.deps import ServicesDep
from score_broker.api.errors import SongJSONResponse
from score_broker.auth.identity import Identity
from score_broker.errors import Unauthorized
from score_broker.services import Services
from score_broker.song.analysis_types import REGISTRATION_SCHEMA
from score_broker.song.entities import ENTITY_FILTERS
from score_broker.song.errors import SongError
from score_broker.song.file_update import UPDATE_SCHEMA
from score_broker.song.id_search import FIELDS
from score_broker.song.payload import read_json
from score_broker.song.schemas import BASE_SCHEMA
from score_broker.song.service import SongService


async def song_identity(request: Request, svc: ServicesDep) -> Identity | None:
    """The caller, None if anonymous. A present but invalid token is refused (401) on every
    Song route, reads included, as Song's bearer-token filter refuses it before its open paths."""
    try:
        return await deps.identity(request, svc)
    except Unauthorized as error:
        raise SongError("unauthorized.token", 401, str(error), "SongAccess") from error


IdentityDep = Annotated[Identity | None, Depends(song_identity)]

# Answers that echo stored values are written by SongJSONResponse in the worker thread, not
# through FastAPI's recursive encoder: it is faster, and a stored value cannot make it fail.
router = APIRouter(
    prefix="/song",
    tags=["song"],
    default_response_class=SongJSONResponse,
    dependencies=[Depends(song_identity)],
)
PAGE_PARAMETERS = {"page", "size", "fields"}


def song(svc: ServicesDep) -> SongService:
    assert svc.song is not None
    return svc.song


SongDep = Annotated[SongService, Depends(song)]


T = TypeVar("T")


async def _write(
    request: Request,
    svc: Services,
    identity: Identity | None,
    study_id: str,
    work: Callable[[bytes], T],
) -> T:
    """A Song write: the study's write scope checked, then `work` on the request's body, off
    the event loop (parsing and validating a large body takes a while)."""
    svc.song_access.check_write(identity, study_id)
    body = await request.body()
    return await anyio.to_thread.run_sync(work, body)


@router.get("/isAlive")
def is_alive() -> bool:
    return True


@router.get("/studies/all")
def all_studies(song: SongDep) -> list[str]:
    return song.list_studies()


@router.get("/studies/{study_id}", response_model=None)
def get_study(study_id: str, song: SongDep) -> Response:
    return SongJSONResponse(song.get_study(study_id))


@router.get("/export/studies/{study_id}", response_model=None)
def export_study(study_id: str, song: SongDep) -> Response:
    """Every analysis of the study as the payload that would submit it again."""
    return SongJSONResponse(song.export_study(study_id))


@router.get("/export/analysis/{analysis_ids}", response_model=None)
def export_analyses(analysis_ids: str, song: SongDep) -> Response:
    """These analyses (comma-separated ids) as payloads, grouped by study."""
    ids = [i.strip() for i in analysis_ids.split(",") if i.strip()]
    return SongJSONResponse(song.export_analyses(ids))


@router.get("/studies/{study_id}/all", response_model=None)
def get_study_with_donors(study_id: str, song: SongDep) -> Response:
    """The study with its donors, their specimens and samples (Song's StudyWithDonors)."""
    return SongJSONResponse(song.study_with_donors(study_id))


@router.get("/studies/{study_id}/donors/{donor_id}", response_model=None)
def get_donor(study_id: str, donor_id: str, song: SongDep) -> Response:
    return SongJSONResponse(song.clinical_entity("donor", study_id, donor_id))


@router.get("/studies/{study_id}/specimens/{specimen_id}", response_model=None)
def get_specimen(study_id: str, specimen_id: str, song: SongDep) -> Response:
    return SongJSONResponse(song.clinical_entity("specimen", study_id, specimen_id))


@router.get("/studies/{study_id}/samples/{sample_id}", response_model=None)
def get_sample(study_id: str, sample_id: str, song: SongDep) -> Response:
    return SongJSONResponse(song.clinical_entity("sample", study_id, sample_id))


def _json_body(schema: dict[str, Any]) -> dict[str, Any]:
    """The body a route reads itself, described for the OpenAPI document."""
    return {"requestBody": {"required": True, "content": {"application/json": {"schema": schema}}}}


STUDY_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        name: {"type": "string"} for name in ("studyId", "name", "organization", "description")
    },
}


@router.post("/studies/{study_id}/", openapi_extra=_json_body(STUDY_SCHEMA))
@router.post("/studies/{study_id}", include_in_schema=False)
async def create_study(
    study_id: str, request: Request, svc: ServicesDep, song: SongDep, identity: IdentityDep
) -> dict[str, str]:
    return await _write(request, svc, identity, study_id, partial(song.create_study, study_id))


@router.post("/submit/{study_id}", openapi_extra=_json_body(BASE_SCHEMA))
async def submit(
    study_id: str,
    request: Request,
    svc: ServicesDep,
    song: SongDep,
    identity: IdentityDep,
    allow_duplicates: Annotated[bool, Query(alias="allowDuplicates")] = False,
) -> dict[str, str]:
    def submit_body(body: bytes) -> dict[str, str]:
        return song.submit(study_id, body, allow_duplicates)

    return await _write(request, svc, identity, study_id, submit_body)


@router.get("/studies/{study_id}/analysis/search/id", response_model=None)
def search_by_ids(
    study_id: str,
    song: SongDep,
    donor_id: Annotated[str | None, Query(alias="donorId")] = None,
    sample_id: Annotated[str | None, Query(alias="sampleId")] = None,
    specimen_id: Annotated[str | None, Query(alias="specimenId")] = None,
    file_id: Annotated[str | None, Query(alias="fileId")] = None,
    submitter_sample_id: Annotated[str | None, Query(alias="submitterSampleId")] = None,
    submitter_donor_id: Annotated[str | None, Query(alias="submitterDonorId")] = None,
    submitter_specimen_id: Annotated[str | None, Query(alias="submitterSpecimenId")] = None,
) -> Response:
    """The study's analyses with these ids (exact values)."""
    given = {
        "donorId": donor_id, "sampleId": sample_id, "specimenId": specimen_id,
        "fileId": file_id, "submitterSampleId": submitter_sample_id,
        "submitterDonorId": submitter_donor_id, "submitterSpecimenId": submitter_specimen_id,
    }  # fmt: skip
    wanted = {k: v for k, v in given.items() if v is not None}
    return SongJSONResponse(song.search_by_ids(study_id, wanted))


@router.post(
    "/studies/{study_id}/analysis/search/id",
    response_model=None,
    openapi_extra=_json_body({"type": "object"}),
)
async def search_by_ids_body(study_id: str, request: Request, song: SongDep) -> Response:
    """Song's IdSearchRequest (`donorId`, `sampleId`, `specimenId`, `objectId`) as a body."""
    body = read_json(await request.body(), song.limits)
    if not isinstance(body, dict):
        raise SongError("payload.parsing", 422, "The search request must be a JSON object")
    wanted = {k: str(v) for k, v in body.items() if k in FIELDS and v is not None}
    found = await anyio.to_thread.run_sync(song.search_by_ids, study_id, wanted)
    return SongJSONResponse(found)


@router.get("/studies/{study_id}/analysis", response_model=None)
def list_analyses(
    study_id: str,
    song: SongDep,
    analysis_states: Annotated[str, Query(alias="analysisStates")] = "PUBLISHED",
) -> Response:
    return SongJSONResponse(song.list_analyses(study_id, analysis_states))


@router.get("/studies/{study_id}/analysis/paginated", response_model=None)
def paginated_analyses(
    study_id: str,
    song: SongDep,
    analysis_states: Annotated[str, Query(alias="analysisStates")] = "PUBLISHED",
    limit: Annotated[int, Query(ge=0)] = 100,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> Response:
    analyses = song.list_analyses(study_id, analysis_states, limit, offset)
    return SongJSONResponse(
        {
            "analyses": analyses,
            "totalAnalyses": song.count_analyses(study_id, analysis_states),
            "currentTotalAnalyses": len(analyses),
        }
    )


@router.get("/studies/{study_id}/analysis/{analysis_id}", response_model=None)
def get_analysis(study_id: str, analysis_id: str, song: SongDep) -> Response:
    return SongJSONResponse(song.get_analysis(study_id, analysis_id))


@router.get("/studies/{study_id}/analysis/{analysis_id}/files", response_model=None)
def analysis_files(study_id: str, analysis_id: str, song: SongDep) -> Response:
    return SongJSONResponse(song.analysis_files(study_id, analysis_id))


@router.put("/studies/{study_id}/analysis/publish/{analysis_id}")
def publish(
    study_id: str,
    analysis_id: str,
    svc: ServicesDep,
    song: SongDep,
    identity: IdentityDep,
    ignore_undefined_md5: Annotated[bool, Query(alias="ignoreUndefinedMd5")] = False,
) -> dict[str, str]:
    svc.song_access.check_write(identity, study_id)
    return song.publish(study_id, analysis_id, ignore_undefined_md5)


@router.put("/studies/{study_id}/analysis/unpublish/{analysis_id}")
def unpublish(
    study_id: str, analysis_id: str, svc: ServicesDep, song: SongDep, identity: IdentityDep
) -> dict[str, str]:
    svc.song_access.check_write(identity, study_id)
    return song.unpublish(study_id, analysis_id)


@router.put("/studies/{study_id}/analysis/suppress/{analysis_id}")
def suppress(
    study_id: str, analysis_id: str, svc: ServicesDep, song: SongDep, identity: IdentityDep
) -> dict[str, str]:
    svc.song_access.check_write(identity, study_id)
    return song.suppress(study_id, analysis_id)


@router.get("/studies/{study_id}/files/{object_id}", response_model=None)
def get_file(study_id: str, object_id: str, song: SongDep) -> Response:
    return SongJSONResponse(song.get_file(study_id, object_id))


@router.put(
    "/studies/{study_id}/analysis/{analysis_id}",
    openapi_extra=_json_body({"type": "object"}),
)
async def update_analysis(
    study_id: str,
    analysis_id: str,
    request: Request,
    svc: ServicesDep,
    song: SongDep,
    identity: IdentityDep,
) -> Response:
    """Song's update: the analysis' dynamic data replaced; samples and files stay."""
    work = partial(song.update_analysis, study_id, analysis_id)
    await _write(request, svc, identity, study_id, work)
    return Response(status_code=200)


@router.patch(
    "/studies/{study_id}/analysis/{analysis_id}",
    openapi_extra=_json_body({"type": "object"}),
)
async def patch_analysis(
    study_id: str,
    analysis_id: str,
    request: Request,
    svc: ServicesDep,
    song: SongDep,
    identity: IdentityDep,
) -> Response:
    """Song's patch: a JSON merge patch of the analysis' dynamic data."""
    work = partial(song.patch_analysis, study_id, analysis_id)
    await _write(request, svc, identity, study_id, work)
    return Response(status_code=200)


@router.put(
    "/studies/{study_id}/files/{object_id}",
    response_model=None,
    openapi_extra=_json_body(UPDATE_SCHEMA),
)
async def update_file(
    study_id: str,
    object_id: str,
    request: Request,
    svc: ServicesDep,
    song: SongDep,
    identity: IdentityDep,
) -> Response:
    """Song's file update: size and MD5 while UNPUBLISHED, access, data type and info."""
    work = partial(song.update_file, study_id, object_id)
    answer = await _write(request, svc, identity, study_id, work)
    return SongJSONResponse(answer)


@router.get("/entities/{object_id}")
def get_entity(object_id: str, song: SongDep) -> dict[str, Any]:
    return song.entities.entity_json(object_id)


@router.get("/entities")
def list_entities(request: Request, song: SongDep) -> dict[str, Any]:
    """Filters `id, gnosId, fileName, projectCode, access`; `page`, `size`, repeated `fields`."""
    params = request.query_params
    unknown = sorted(set(params) - set(ENTITY_FILTERS) - PAGE_PARAMETERS)
    if unknown:
        raise SongError(
            "illegal.query.parameter",
            400,
            f"Unknown query parameters {unknown}",
            "LegacyEntityController",
        )
    try:
        page = int(params.get("page", 0))
        size = int(params.get("size", 20))
    except ValueError:
        raise SongError(
            "illegal.query.parameter",
            400,
            "page and size must be integers",
            "LegacyEntityController",
        ) from None
    filters = {k: params[k] for k in ENTITY_FILTERS if k in params}
    return song.entities.page(filters, page, size, params.getlist("fields"))


def _csv(value: str | None) -> list[str]:
    return [item.strip() for item in (value or "").split(",") if item.strip()]


@router.get("/schemas")
def list_schemas(
    song: SongDep,
    names: str | None = None,
    versions: str | None = None,
    hide_schema: Annotated[bool, Query(alias="hideSchema")] = False,
    unrendered_only: Annotated[bool, Query(alias="unrenderedOnly")] = False,
    offset: int = 0,
    limit: int = 20,
    sort: str = "version",
    sort_order: Annotated[str, Query(alias="sortOrder")] = "DESC",
) -> dict[str, Any]:
    try:
        version_numbers = [int(v) for v in _csv(versions)]
    except ValueError:
        raise SongError("malformed.parameter", 400, "versions must be integers") from None
    if sort_order.upper() not in ("ASC", "DESC"):
        raise SongError("malformed.parameter", 400, "sortOrder must be ASC or DESC")
    return song.types.listing(
        _csv(names),
        version_numbers,
        hide_schema,
        unrendered_only,
        offset,
        limit,
        sort,
        sort_order.upper() == "DESC",
    )


@router.get("/schemas/registration")
def registration_schema() -> dict[str, Any]:
    """The meta-schema an analysis type's schema must meet to be registered."""
    return REGISTRATION_SCHEMA


@router.post("/schemas", openapi_extra=_json_body({"type": "object"}))
async def register_schema(
    request: Request, svc: ServicesDep, song: SongDep, identity: IdentityDep
) -> dict[str, Any]:
    """Song's registration of an analysis type (the next version of its name); system scope."""
    svc.song_access.check_system(identity)
    body = read_json(await request.body(), song.limits)
    return await anyio.to_thread.run_sync(song.types.register, body)


@router.get("/schemas/{name}")
def get_schema(
    name: str,
    song: SongDep,
    version: int | None = None,
    unrendered_only: Annotated[bool, Query(alias="unrenderedOnly")] = False,
) -> dict[str, Any]:
    return song.types.get(name, version, unrendered_only)
