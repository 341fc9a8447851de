"""The commands that move no data: `url`, `info`, `manifest`, `status`, `login`, `logout`."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from rich.console import Console
from rich.table import Table

from score_tui import __version__
from score_tui.client.errors import TransferError
from score_tui.client.score import ScoreApi
from score_tui.config import Settings, config_dir, forget_token, mask, save_token, state_dir
from score_tui.engine.journal import Journal
from score_tui.engine.locks import TransferLock
from score_tui.engine.model import State, Transfer
from score_tui.planning.manifests import read_manifest
from score_tui.units import human_size


async def url(args: argparse.Namespace, settings: Settings) -> str:
    """The whole-object URL for external tools (any byte range can be read from it)."""
    async with ScoreApi(settings.server_url, settings.token, ca_file=settings.ca_file) as api:
        spec = await api.download_spec(args.object_id, 0, -1, external=True)
    if len(spec.parts) != 1 or not spec.parts[0].url:
        raise TransferError(f"the server did not return one URL for {args.object_id}")
    return spec.parts[0].url


def info(settings: Settings, as_json: bool) -> str:
    facts = {
        "profile": settings.profile,
        "storageUrl": settings.server_url,
        "metadataUrl": settings.metadata_url,
        "accessToken": mask(settings.token),
        "tokenSource": settings.token_source,
        "configFile": str(settings.config_file),
        "journal": str(settings.journal_path),
        "concurrency": settings.engine.concurrency,
        "bandwidthLimit": settings.engine.bandwidth_limit,
        "caFile": settings.ca_file,
    }
    if as_json:
        return json.dumps(facts, indent=2)
    return "\n".join(f"{key:<14} {value}" for key, value in facts.items())


async def version(settings: Settings, as_json: bool) -> str:
    """The client's version, the broker it talks to and the broker's version (its
    `/actuator/info`, as Score answers it; "unknown" when the broker does not say)."""
    async with ScoreApi(settings.server_url, settings.token, ca_file=settings.ca_file) as api:
        broker = await api.server_version()
    facts = {"client": __version__, "storageUrl": settings.server_url, "server": broker}
    if as_json:
        return json.dumps(facts, indent=2)
    return "\n".join(
        [
            f"score-tui {__version__}",
            f"broker    {settings.server_url}",
            f"version   {broker}",
        ]
    )


def manifest(args: argparse.Namespace, settings: Settings) -> str:
    return read_manifest(args.manifest, settings.ca_file)


def live_state(transfer: Transfer) -> str:
    """The journal's state, with `running` shown as `interrupted` when no process holds it."""
    if transfer.state == State.RUNNING and not TransferLock.held(
        state_dir() / "locks", transfer.id
    ):
        return "interrupted"
    return transfer.state.value


def status(settings: Settings, console: Console, as_json: bool, show_all: bool) -> None:
    journal = Journal(settings.journal_path)
    try:
        transfers = journal.transfers()
    finally:
        journal.close()
    if not show_all:
        transfers = [t for t in transfers if t.state not in (State.DONE, State.CANCELLED)]
    if as_json:
        rows = [
            {
                "id": t.id, "direction": t.direction.value, "state": live_state(t),
                "objectId": t.object_id, "file": t.file_name, "path": t.path,
                "size": t.size, "bytesDone": t.bytes_done, "serverUrl": t.server_url,
                "error": t.error,
            }
            for t in transfers
        ]  # fmt: skip
        sys.stdout.write(json.dumps(rows, indent=2) + "\n")
        return
    if not transfers:
        console.print("no unfinished transfers" if not show_all else "the journal is empty")
        return
    table = Table("id", "", "state", "progress", "file", "object id", "error", box=None)
    for t in transfers:
        share = f"{100 * t.bytes_done / t.size:.0f}% of {human_size(t.size)}" if t.size else "-"
        table.add_row(
            t.short_id, "↑" if t.direction == "upload" else "↓", live_state(t), share,
            t.file_name, t.object_id, t.error or "",
        )  # fmt: skip
    Console(soft_wrap=True).print(table)


def login(args: argparse.Namespace, settings: Settings) -> str:
    token_file = getattr(args, "token_file", None)
    if token_file:
        token = Path(token_file).read_text().strip()
    elif sys.stdin.isatty():
        import getpass

        token = getpass.getpass("Access token: ").strip()
    else:
        token = sys.stdin.readline().strip()
    if not token:
        raise TransferError("no token given; pass --token-file FILE or type it when asked")
    where = save_token(settings.profile, token)
    return f"token for profile {settings.profile!r} saved in {where}"


def logout(settings: Settings) -> str:
    forget_token(settings.profile)
    return f"token for profile {settings.profile!r} removed (config: {config_dir()})"
