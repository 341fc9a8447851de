"""Requests into transfers: each file checked, named and queued (not started), and what was
refused or skipped before queueing, as score-client would decide it."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from score_tui.client.errors import NotFound, TransferError
from score_tui.client.models import Entity
from score_tui.client.naming import index_of, is_index
from score_tui.engine.model import Direction, Transfer
from score_tui.planning.layout import target_path
from score_tui.planning.manifests import download_object_ids, read_manifest, upload_entries
from score_tui.planning.outcome import Outcome
from score_tui.planning.requests import DownloadRequest, UploadRequest
from score_tui.planning.song_upload import Registration, register_files
from score_tui.workspace import Workspace

#: What a download plan is after: object id -> its Song entity (None if not looked up).
Chosen = dict[str, Entity | None]


async def plan_upload(
    request: UploadRequest, ws: Workspace
) -> tuple[list[Outcome], list[Transfer], Registration | None]:
    """The uploads of a request, queued (not started), and the files refused before queueing."""
    await ws.check_storage(request.verify_connection)
    analysis: Registration | None = None
    entries: Sequence[tuple[str, Path, str | None]]
    if request.study:
        entries, analysis = await register_files(request, ws)
    elif request.manifest:
        text = read_manifest(request.manifest, ws.settings.ca_file)
        base = Path(request.manifest).parent
        entries = [
            (e.object_id, e.path, e.md5) for e in upload_entries(text, request.manifest, base)
        ]
    else:
        assert request.object_id is not None  # the request's own rule
        entries = [(request.object_id, request.files[0], request.md5)]
    outcomes: list[Outcome] = []
    transfers: list[Transfer] = []
    for object_id, path, md5 in entries:
        source = path.absolute()
        if analysis is not None and ws.journal.uploaded(ws.api.server_url, object_id):
            outcomes.append(_uploaded_before(path, object_id, md5))
            ws.note(f"[green]✓[/] {path.name} was uploaded by an earlier run (object {object_id})")
            continue
        if not source.is_file():
            refusal = f"{path} does not exist or is not a file"
            outcomes.append(Outcome.failed(path.name, "upload", refusal, object_id))
            continue
        transfer = Transfer(
            direction=Direction.UPLOAD, object_id=object_id, server_url=ws.api.server_url,
            path=str(source), file_name=source.name, md5=md5, md5_declared=md5 is not None,
            force=request.force, new_object=analysis is not None,
        )  # fmt: skip
        transfers.append(ws.queue(transfer))
    return outcomes, transfers, analysis


def _uploaded_before(path: Path, object_id: str, md5: str | None) -> Outcome:
    return Outcome(
        file=path.name, direction="upload", state="skipped", object_id=object_id,
        path=str(path.absolute()), md5=md5, error="uploaded by an earlier run",
    )  # fmt: skip


async def plan_download(
    request: DownloadRequest, ws: Workspace
) -> tuple[list[Outcome], list[Transfer]]:
    """The downloads of a request, queued (not started), and the files skipped or refused."""
    analyses: dict[str, list[Entity]] = {}
    wanted = await _wanted(request, ws, analyses)
    await ws.check_storage(request.verify_connection)
    outcomes: list[Outcome] = []
    chosen = await _look_up(request, ws, wanted, outcomes)
    if request.index:
        await _add_indexes(chosen, analyses, ws)
    return outcomes, _queue_downloads(request, ws, chosen, outcomes)


async def _wanted(
    request: DownloadRequest, ws: Workspace, analyses: dict[str, list[Entity]]
) -> list[tuple[str, Entity | None]]:
    """The objects asked for, with their entities when Song was asked already (an analysis:
    its files, kept in `analyses` since their indexes are among them)."""
    if request.analysis_id:
        study = request.study_id or ""
        entities = await ws.song.entities(gnosId=request.analysis_id, projectCode=study)
        if not entities:
            raise TransferError(
                f"analysis {request.analysis_id} of study {request.study_id} has no files in Song"
            )
        analyses[request.analysis_id] = entities
        return [(e.id, e) for e in entities]
    ids = request.object_ids
    if request.manifest:
        ids = tuple(
            download_object_ids(
                read_manifest(request.manifest, ws.settings.ca_file), request.manifest
            )
        )
    return [(object_id, None) for object_id in dict.fromkeys(ids)]


async def _look_up(
    request: DownloadRequest,
    ws: Workspace,
    wanted: list[tuple[str, Entity | None]],
    outcomes: list[Outcome],
) -> Chosen:
    """Each object's Song entity where its file name or index is needed; an object Song does
    not know is refused (or, in the `id` layout, downloaded without its index)."""
    chosen: Chosen = {}
    needs_song = request.output_layout != "id" or request.index
    for object_id, entity in wanted:
        if entity is None and needs_song:
            try:
                entity = await ws.song.entity(object_id)
            except TransferError as exc:
                if request.output_layout == "id":  # Song was asked only for the index: go on
                    ws.note(f"[yellow]![/] {object_id}: no index looked up ({exc})")
                    chosen[object_id] = None
                    continue
                if not isinstance(exc, NotFound):
                    raise
                refusal = f"object {object_id} is not registered in Song (Entity not found)"
                outcomes.append(Outcome.failed(object_id, "download", refusal, object_id))
                continue
        chosen[object_id] = entity
    return chosen


async def _add_indexes(chosen: Chosen, analyses: dict[str, list[Entity]], ws: Workspace) -> None:
    """Song bundling: each data file's index from the same analysis joins the download
    (`analyses`: the files of analyses already looked up, by analysis id)."""
    for entity in list(chosen.values()):
        if entity is None or is_index(entity) or not entity.gnos_id:
            continue
        if entity.gnos_id not in analyses:
            analyses[entity.gnos_id] = await ws.song.entities(gnosId=entity.gnos_id)
        index = index_of(entity, analyses[entity.gnos_id])
        if index is not None:
            chosen.setdefault(index.id, index)


def _queue_downloads(
    request: DownloadRequest, ws: Workspace, chosen: Chosen, outcomes: list[Outcome]
) -> list[Transfer]:
    """A transfer for each object whose target is free (or forced, or an unfinished download of
    the same object); the others are refused or skipped in `outcomes`."""
    output_dir = request.output_dir.absolute()
    transfers: list[Transfer] = []
    targets: dict[Path, str] = {}
    for object_id, entity in chosen.items():
        name = entity.file_name if entity else object_id
        try:
            target = target_path(output_dir, request.output_layout, object_id, entity)
        except TransferError as exc:
            outcomes.append(Outcome.failed(name, "download", str(exc), object_id))
            continue
        if target in targets:
            refusal = (
                f"{target} is also the target of object {targets[target]}; "
                "use --output-layout bundle or id"
            )
            outcomes.append(Outcome.failed(name, "download", refusal, object_id))
            continue
        targets[target] = object_id
        unfinished = ws.journal.unfinished(
            Direction.DOWNLOAD, ws.api.server_url, object_id, str(target)
        )
        if target.exists() and not request.force and unfinished is None:
            outcomes.append(_exists(name, object_id, target))
            ws.note(
                f"[yellow]-[/] {target} already exists; not downloading it again "
                "(use --force to overwrite it)"
            )
            continue
        transfer = Transfer(
            direction=Direction.DOWNLOAD, object_id=object_id, server_url=ws.api.server_url,
            path=str(target), file_name=name, offset=request.offset, length=request.length,
            force=request.force, validate=request.validate,
        )  # fmt: skip
        transfers.append(ws.queue(transfer))
    return transfers


def _exists(name: str, object_id: str, target: Path) -> Outcome:
    return Outcome(
        file=name, direction="download", state="skipped", object_id=object_id, path=str(target),
        error=f"{target} already exists; use --force to overwrite it",
    )  # fmt: skip
