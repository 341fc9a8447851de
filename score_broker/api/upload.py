"""Score's upload endpoints (`/upload/...`), with its query-parameter names and bodies."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Response

from score_broker.api.deps import IdentityDep, ServicesDep

router = APIRouter(prefix="/upload", tags=["upload"])


@router.post("/cancel", summary="Cancel every upload in progress (system write scope only)")
def cancel_all(svc: ServicesDep, caller: IdentityDep) -> Response:
    svc.access.check_system_upload(caller)
    svc.uploads.cancel_all()
    return Response(status_code=200)


@router.post("/{object_id}/uploads", summary="Start an upload; returns its spec with part URLs")
def initiate(
    object_id: str,
    svc: ServicesDep,
    caller: IdentityDep,
    file_size: Annotated[int, Query(alias="fileSize")],
    md5: Annotated[str | None, Query()] = None,
    overwrite: Annotated[bool, Query()] = False,
) -> dict[str, Any]:
    svc.access.check_upload(caller, object_id, changes_data=True, declared=(file_size, md5))
    return svc.uploads.initiate(object_id, file_size, md5, overwrite).to_wire()


@router.post("/{object_id}/parts", summary="Record a part as uploaded")
def finish_part(
    object_id: str,
    svc: ServicesDep,
    caller: IdentityDep,
    upload_id: Annotated[str, Query(alias="uploadId")],
    part_number: Annotated[int, Query(alias="partNumber")],
    md5: Annotated[str, Query()],
    etag: Annotated[str, Query()],
) -> Response:
    svc.access.check_upload(caller, object_id, changes_data=False)
    svc.uploads.finish_part(object_id, upload_id, part_number, md5, etag)
    return Response(status_code=200)


@router.delete("/{object_id}/parts", summary="Forget a finished part")
def forget_part(
    object_id: str,
    svc: ServicesDep,
    caller: IdentityDep,
    upload_id: Annotated[str, Query(alias="uploadId")],
    part_number: Annotated[int, Query(alias="partNumber")],
) -> Response:
    svc.access.check_upload(caller, object_id, changes_data=False)
    svc.uploads.forget_part(object_id, upload_id, part_number)
    return Response(status_code=200)


@router.get("/{object_id}/status", summary="The upload in progress and its finished parts")
def status(
    object_id: str,
    svc: ServicesDep,
    caller: IdentityDep,
    file_size: Annotated[int, Query(alias="fileSize")],
) -> dict[str, Any]:
    svc.access.check_upload(caller, object_id, changes_data=False)
    return svc.uploads.progress(object_id, file_size).to_wire()


@router.post("/{object_id}/recovery", summary="200 if the upload in progress can be resumed")
def recovery(
    object_id: str,
    svc: ServicesDep,
    caller: IdentityDep,
    file_size: Annotated[int, Query(alias="fileSize")],
) -> Response:
    svc.access.check_upload(caller, object_id, changes_data=False)
    svc.uploads.check_recoverable(object_id, file_size)
    return Response(status_code=200)


@router.post("/{object_id}", summary="Finalize the upload once every part is recorded")
def finalize(
    object_id: str,
    svc: ServicesDep,
    caller: IdentityDep,
    upload_id: Annotated[str, Query(alias="uploadId")],
) -> Response:
    svc.access.check_upload(caller, object_id, changes_data=True)
    svc.uploads.finalize(object_id, upload_id)
    return Response(status_code=200)


@router.get("/{object_id}", summary="Whether the object is uploaded and finalized (true/false)")
def exists(object_id: str, svc: ServicesDep, caller: IdentityDep) -> Response:
    svc.access.check_upload(caller, object_id, changes_data=False)
    body = "true" if svc.uploads.is_finalized(object_id) else "false"
    return Response(content=body, media_type="application/json")


@router.delete("/{object_id}", summary="Abort the upload in progress")
def cancel(object_id: str, svc: ServicesDep, caller: IdentityDep) -> Response:
    svc.access.check_upload(caller, object_id, changes_data=False)
    svc.uploads.cancel(object_id)
    return Response(status_code=200)
