"""`upload`, `download` and `resume`: plan the transfers, run them, publish what was asked."""

from __future__ import annotations

from score_tui.batch.session import Session
from score_tui.client.errors import TransferError
from score_tui.engine.model import State, Transfer
from score_tui.engine.registrations import Registrations
from score_tui.planning.outcome import Outcome
from score_tui.planning.requests import DownloadRequest, UploadRequest
from score_tui.planning.song_upload import Registration
from score_tui.planning.transfers import plan_download, plan_upload


async def upload(request: UploadRequest, session: Session) -> list[Outcome]:
    """`upload --object-id --file [--md5]`, `upload --manifest`, or `upload --study --file...`."""
    outcomes, transfers, analysis = await plan_upload(request, session)
    outcomes += await session.run(transfers)
    if analysis is not None:
        await analysis.finish(outcomes, session)
    return outcomes


async def download(request: DownloadRequest, session: Session) -> list[Outcome]:
    """`download` by object ids, an 11-column manifest, or an analysis of a study."""
    outcomes, transfers = await plan_download(request, session)
    return outcomes + await session.run(transfers)


async def resume(transfer_ids: list[str], session: Session) -> list[Outcome]:
    """Run the journal's unfinished transfers on this broker (all, or the ids given)."""
    unfinished = session.journal.transfers(
        [State.QUEUED, State.RUNNING, State.PAUSED, State.FAILED]
    )
    if transfer_ids:
        unfinished = [t for t in unfinished if any(t.id.startswith(p) for p in transfer_ids)]
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
    publishes = _publishes(transfer_ids, session, here)
    if not here and not publishes:
        session.note("nothing to resume")
    outcomes = await session.run([session.engine.adopt(t) for t in here])
    if not session.interrupted:
        for registration in publishes:
            await registration.finish(outcomes, session)
    return outcomes


def _publishes(
    transfer_ids: list[str], session: Session, resumed: list[Transfer]
) -> list[Registration]:
    """The analyses that one-step uploads asked to publish and that this resume finishes: those
    of the resumed transfers, and (without ids) those whose uploads ended before a kill."""
    registry = Registrations(session.journal)
    objects = {t.object_id for t in resumed}
    chosen: list[Registration] = []
    for record in registry.to_publish(session.api.server_url, session.song.metadata_url):
        touched = any(f.object_id in objects for f in record.files)
        if touched or (not transfer_ids and registry.uploaded(record)):
            chosen.append(Registration(record))
        elif not transfer_ids:
            session.note(
                f"analysis {record.analysis_id} in study {record.study} waits for files that no "
                "unfinished transfer holds; run its `upload --study` command again to finish it"
            )
    return chosen
