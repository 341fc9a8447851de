"""Running a one-step upload again: finding the analysis an earlier run of it registered.

Song refuses to register a file twice (409 "File already exist"), so a rerun of
`upload --study S --file F` must go on with the analysis the journal registered for the same
study and the same files (name, size and MD5). A file that changed since is refused: its
analysis in Song describes other bytes.
"""

from __future__ import annotations

from score_tui.client.errors import NotFound, TransferError
from score_tui.client.models import SongFile
from score_tui.engine.registrations import (
    RegisteredFile,
    RegistrationRecord,
    Registrations,
    RegistrationState,
)
from score_tui.planning.requests import UploadRequest
from score_tui.workspace import Workspace


async def earlier_registration(
    request: UploadRequest,
    session: Workspace,
    registry: Registrations,
    files: list[RegisteredFile],
) -> RegistrationRecord | None:
    """The journal's registration of these files in `request.song_study` to go on with (its analysis
    id is None if Song never registered it), or None to register them anew."""
    known = registry.in_study(session.song.metadata_url, request.song_study)
    for record in known:
        if record.same_files(files):
            found = await _confirmed(record, session, registry, known)
            if found is not None:
                return found
    _refuse_overlaps(request, registry, known, files)
    return None


async def _confirmed(
    record: RegistrationRecord,
    session: Workspace,
    registry: Registrations,
    known: list[RegistrationRecord],
) -> RegistrationRecord | None:
    """The record, once Song confirms its analysis; None if Song does not have it."""
    if record.analysis_id is None:
        claimed = {r.analysis_id for r in known if r.analysis_id is not None}
        await _find_submitted(record, session, claimed)
        if record.analysis_id is not None:
            registry.save(record)
        return record  # submitted now if Song did not get it before
    try:
        analysis = await session.song.analysis(record.study, record.analysis_id)
    except NotFound:
        record.state = RegistrationState.ABANDONED  # Song forgot it: register the files anew
        registry.save(record)
        return None
    if analysis.state == "SUPPRESSED":
        raise TransferError(
            f"analysis {record.analysis_id} of these files is suppressed in Song, so it can "
            "take no upload; ask the study's Song administrators"
        )
    return record


async def _find_submitted(
    record: RegistrationRecord, session: Workspace, claimed: set[str]
) -> None:
    """A run killed between Song's answer and the journal's write: find the analysis Song
    registered, UNPUBLISHED with exactly these files, and take it on."""
    try:
        analyses = await session.song.analyses(record.study, "UNPUBLISHED")
    except NotFound:
        return  # the study does not exist yet: nothing was registered
    for analysis in analyses:
        found = [RegisteredFile(f.name, "", f.size, f.md5) for f in analysis.files]
        if analysis.analysis_id not in claimed and record.same_files(found):
            record.analysis_id = analysis.analysis_id
            adopt_analysis(record, list(analysis.files))
            return


def adopt_analysis(record: RegistrationRecord, song_files: list[SongFile]) -> None:
    """Take the object ids Song gave the record's files; the record is then `registered`."""
    object_ids = {f.name: f.object_id for f in song_files}
    missing = [f.name for f in record.files if not object_ids.get(f.name)]
    if missing:
        raise TransferError(
            f"Song's analysis {record.analysis_id} lists no object id for {', '.join(missing)}"
        )
    for file in record.files:
        file.object_id = str(object_ids[file.name])
    record.state = RegistrationState.REGISTERED


def _refuse_overlaps(
    request: UploadRequest,
    registry: Registrations,
    known: list[RegistrationRecord],
    files: list[RegisteredFile],
) -> None:
    """Refuse files that an unfinished registration holds with other content or other files
    (with --force, that registration is abandoned instead)."""
    asked = {f.name: f for f in files}
    for record in known:
        shared = [f for f in record.files if f.name in asked]
        if not shared or not record.state.unfinished:
            continue
        if request.force or record.analysis_id is None:
            # A submission Song may never have seen, or the user's choice: start anew.
            record.state = RegistrationState.ABANDONED
            registry.save(record)
            continue
        raise TransferError(_overlap_message(record, shared, asked))


def _overlap_message(
    record: RegistrationRecord, shared: list[RegisteredFile], asked: dict[str, RegisteredFile]
) -> str:
    where = f"analysis {record.analysis_id} in study {record.study}"
    changed = next((f for f in shared if f.key != asked[f.name].key), None)
    if changed is not None:
        now = asked[changed.name]
        return (
            f"{changed.name} changed since an unfinished upload registered it as {where} "
            f"(MD5 {changed.md5}, {changed.size} bytes; now {now.md5}, {now.size} bytes): put "
            "that file back and run the command again to finish it, or add --force to "
            "register this one as a new analysis"
        )
    names = ", ".join(f.name for f in record.files)
    return (
        f"{shared[0].name} belongs to {where}, registered by an unfinished upload with the "
        f"files {names}: run that upload again with the same files to finish it, or add "
        "--force to register these as a new analysis"
    )
