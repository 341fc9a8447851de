"""`upload` and `download`: build the transfers score-client would make, then run them."""

from __future__ import annotations

import argparse
from pathlib import Path

from score_tui.batch.layout import index_of, is_index, target_path
from score_tui.batch.manifests import (
    download_object_ids,
    read_manifest,
    upload_entries,
)
from score_tui.batch.outcome import Outcome
from score_tui.batch.session import Session
from score_tui.batch.song_upload import Registration, register_files
from score_tui.client.errors import NotFound, TransferError
from score_tui.client.models import Entity
from score_tui.engine.model import Direction, State, Transfer
from score_tui.engine.registrations import Registrations
from score_tui.workspace import Workspace


async def plan_upload(
    args: argparse.Namespace, ws: Workspace
) -> tuple[list[Outcome], list[Transfer], Registration | None]:
    """The uploads of `upload`, queued (not started), and the files refused before queueing."""
    await ws.check_storage(args.verify_connection)
    analysis: Registration | None = None
    if args.study:
        entries, analysis = await register_files(args, ws)
    elif args.manifest:
        text = read_manifest(args.manifest)
        entries = [
            (e.object_id, e.path, e.md5)
            for e in upload_entries(text, args.manifest, Path(args.manifest).parent)
        ]
    else:
        entries = [(args.object_id, Path(args.file[0]), args.md5)]
    outcomes: list[Outcome] = []
    transfers: list[Transfer] = []
    for object_id, path, md5 in entries:
        source = path.absolute()
        if analysis is not None and ws.journal.uploaded(ws.api.server_url, object_id):
            outcomes.append(_uploaded_before(path, object_id, md5))
            ws.note(f"[green]✓[/] {path.name} was uploaded by an earlier run (object {object_id})")
            continue
        if not source.is_file():
            outcomes.append(
                Outcome.failed(
                    path.name, "upload", f"{path} does not exist or is not a file", object_id
                )
            )
            continue
        transfer = Transfer(
            direction=Direction.UPLOAD, object_id=object_id, server_url=ws.api.server_url,
            path=str(source), file_name=source.name, md5=md5, md5_declared=md5 is not None,
            force=args.force, new_object=analysis is not None,
        )  # fmt: skip
        transfers.append(ws.queue(transfer))
    return outcomes, transfers, analysis


def _uploaded_before(path: Path, object_id: str, md5: str | None) -> Outcome:
    return Outcome(
        file=path.name, direction="upload", state="skipped", object_id=object_id,
        path=str(path.absolute()), md5=md5, error="uploaded by an earlier run",
    )  # fmt: skip


async def upload(args: argparse.Namespace, session: Session) -> list[Outcome]:
    """`upload --object-id --file [--md5]`, `upload --manifest`, or `upload --study --file...`."""
    outcomes, transfers, analysis = await plan_upload(args, session)
    outcomes += await session.run(transfers)
    if analysis is not None:
        await analysis.finish(outcomes, session)
    return outcomes


async def download(args: argparse.Namespace, session: Session) -> list[Outcome]:
    """`download` by object ids, an 11-column manifest, or an analysis of a study."""
    outcomes, transfers = await plan_download(args, session)
    return outcomes + await session.run(transfers)


async def plan_download(
    args: argparse.Namespace, session: Workspace
) -> tuple[list[Outcome], list[Transfer]]:
    """The downloads of `download`, queued (not started), and the files skipped or refused."""
    output_dir = Path(args.output_dir).absolute()
    analyses: dict[str, list[Entity]] = {}
    if args.analysis_id:
        entities = await session.song.entities(gnosId=args.analysis_id, projectCode=args.study_id)
        if not entities:
            raise TransferError(
                f"analysis {args.analysis_id} of study {args.study_id} has no files in Song"
            )
        wanted: list[tuple[str, Entity | None]] = [(e.id, e) for e in entities]
        analyses[args.analysis_id] = entities  # their indexes are among them
    else:
        ids = args.object_id or download_object_ids(read_manifest(args.manifest), args.manifest)
        wanted = [(object_id, None) for object_id in dict.fromkeys(ids)]
    await session.check_storage(args.verify_connection)

    outcomes: list[Outcome] = []
    chosen: dict[str, Entity | None] = {}
    needs_song = args.output_layout != "id" or args.index
    for object_id, entity in wanted:
        if entity is None and needs_song:
            try:
                entity = await session.song.entity(object_id)
            except TransferError as exc:
                if args.output_layout == "id":  # Song was asked only for the index: go on
                    session.note(f"[yellow]![/] {object_id}: no index looked up ({exc})")
                    chosen[object_id] = None
                    continue
                if not isinstance(exc, NotFound):
                    raise
                outcomes.append(
                    Outcome.failed(
                        object_id,
                        "download",
                        f"object {object_id} is not registered in Song (Entity not found)",
                        object_id,
                    )
                )
                continue
        chosen[object_id] = entity
    if args.index:
        await _add_indexes(chosen, analyses, session)

    transfers: list[Transfer] = []
    targets: dict[Path, str] = {}
    for object_id, entity in chosen.items():
        name = entity.file_name if entity else object_id
        try:
            target = target_path(output_dir, args.output_layout, object_id, entity)
        except TransferError as exc:
            outcomes.append(Outcome.failed(name, "download", str(exc), object_id))
            continue
        if target in targets:
            outcomes.append(
                Outcome.failed(
                    name,
                    "download",
                    f"{target} is also the target of object {targets[target]}; "
                    "use --output-layout bundle or id",
                    object_id,
                )
            )
            continue
        targets[target] = object_id
        unfinished = session.journal.unfinished(
            Direction.DOWNLOAD, session.api.server_url, object_id, str(target)
        )
        if target.exists() and not args.force and unfinished is None:
            outcomes.append(
                Outcome(
                    file=name,
                    direction="download",
                    state="skipped",
                    object_id=object_id,
                    path=str(target),
                    error=f"{target} already exists; use --force to overwrite it",
                )
            )
            session.note(
                f"[yellow]-[/] {target} already exists; not downloading it again "
                "(use --force to overwrite it)"
            )
            continue
        transfer = Transfer(
            direction=Direction.DOWNLOAD, object_id=object_id,
            server_url=session.api.server_url, path=str(target), file_name=name,
            offset=args.offset, length=args.length, force=args.force, validate=args.validate,
        )  # fmt: skip
        transfers.append(session.queue(transfer))
    return outcomes, transfers


async def _add_indexes(
    chosen: dict[str, Entity | None], analyses: dict[str, list[Entity]], session: Workspace
) -> None:
    """Song bundling: each data file's index from the same analysis joins the download
    (`analyses`: the files of analyses already looked up, by analysis id)."""
    for entity in list(chosen.values()):
        if entity is None or is_index(entity) or not entity.gnos_id:
            continue
        if entity.gnos_id not in analyses:
            analyses[entity.gnos_id] = await session.song.entities(gnosId=entity.gnos_id)
        index = index_of(entity, analyses[entity.gnos_id])
        if index is not None:
            chosen.setdefault(index.id, index)


async def resume(args: argparse.Namespace, session: Session) -> list[Outcome]:
    """Run the journal's unfinished transfers on this broker (all, or the ids given)."""
    unfinished = session.journal.transfers(
        [State.QUEUED, State.RUNNING, State.PAUSED, State.FAILED]
    )
    if args.transfer_id:
        unfinished = [t for t in unfinished if any(t.id.startswith(p) for p in args.transfer_id)]
        if not unfinished:
            raise TransferError(
                "no unfinished transfer has that id; see `score-tui --batch status`"
            )
    here = [t for t in unfinished if t.server_url == session.api.server_url]
    if here:
        await session.check_storage(verify_connection=False)
    elsewhere = len(unfinished) - len(here)
    if elsewhere:
        session.note(
            f"{elsewhere} unfinished transfers belong to other brokers; "
            "give their --server-url to resume them"
        )
    publishes = _publishes(args, session, here)
    if not here and not publishes:
        session.note("nothing to resume")
    outcomes = await session.run([session.engine.adopt(t) for t in here])
    if not session.interrupted:
        for registration in publishes:
            await registration.finish(outcomes, session)
    return outcomes


def _publishes(
    args: argparse.Namespace, session: Session, resumed: list[Transfer]
) -> list[Registration]:
    """The analyses that one-step uploads asked to publish and that this resume finishes: those
    of the resumed transfers, and (without ids) those whose uploads ended before a kill."""
    registry = Registrations(session.journal)
    objects = {t.object_id for t in resumed}
    chosen: list[Registration] = []
    for record in registry.to_publish(session.api.server_url, session.song.metadata_url):
        touched = any(f.object_id in objects for f in record.files)
        if touched or (not args.transfer_id and registry.uploaded(record)):
            chosen.append(Registration(record))
        elif not args.transfer_id:
            session.note(
                f"analysis {record.analysis_id} in study {record.study} waits for files that no "
                "unfinished transfer holds; run its `upload --study` command again to finish it"
            )
    return chosen
