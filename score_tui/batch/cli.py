"""The batch command line: score-client's commands and options, plus `status` and `resume`.

Global options may come before or after the command. Exit status: 0 when everything is done,
1 when anything failed, 2 for a usage error, 130 when interrupted (the journal keeps the state).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sys
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

from rich.console import Console

from score_tui import __version__
from score_tui.batch import info as info_commands
from score_tui.batch import transfers
from score_tui.batch.session import Session
from score_tui.client.naming import object_id_from
from score_tui.config import ConfigError, Overrides, Settings, load
from score_tui.errors import ScoreTuiError
from score_tui.planning.outcome import (
    EXIT_FAILED,
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_USAGE,
    Outcome,
    exit_status,
)
from score_tui.planning.requests import (
    OUTPUT_TYPES,
    DownloadRequest,
    RequestError,
    SliceRequest,
    UploadRequest,
)


def parse_bool(text: str) -> bool:
    value = text.strip().lower()
    if value in ("true", "yes", "1", "on"):
        return True
    if value in ("false", "no", "0", "off"):
        return False
    raise argparse.ArgumentTypeError(f"{text!r} is not true or false")


def parse_uuid(text: str) -> str:
    """An object id, given as a UUID or a DRS URI (drs://<host>/<uuid>)."""
    object_id = object_id_from(text)
    if object_id is None:
        raise argparse.ArgumentTypeError(
            f"{text} is not a valid UUID (nor a DRS URI drs://<host>/<uuid>)"
        )
    return object_id


def _flag(parser: argparse.ArgumentParser, name: str, default: bool, help: str) -> None:
    parser.add_argument(
        name, type=parse_bool, nargs="?", const=True, default=default, metavar="BOOL", help=help
    )


def _global_options() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(
        add_help=False, argument_default=argparse.SUPPRESS, allow_abbrev=False
    )
    common.add_argument("--profile", help="the broker profile of the config file to use")
    common.add_argument("--server-url", help="the broker (Score server) URL [STORAGE_URL]")
    common.add_argument("--metadata-url", help="the Song URL [METADATA_URL]")
    common.add_argument("--token-file", help="read the access token from this file")
    common.add_argument("--ca-file", help="trust this CA (PEM) too, for HTTPS [SSL_CERT_FILE]")
    common.add_argument("--concurrency", type=int, help="parts in flight [TRANSPORT_PARALLEL]")
    common.add_argument("--bandwidth-limit", help="cap the speed, e.g. 50MB/s")
    common.add_argument("--json", action="store_true", help="a JSON summary on stdout")
    common.add_argument("--quiet", action="store_true", help="no progress, only errors")
    common.add_argument("--silent", action="store_true", help="no output at all")
    return common


def build_parser() -> argparse.ArgumentParser:
    common = _global_options()
    parser = argparse.ArgumentParser(
        prog="score-tui --batch",
        allow_abbrev=False,
        description="Move files through a Score broker without the terminal UI.",
        parents=[common],
    )
    parser.add_argument("--version", action="version", version=f"score-tui {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def command(name: str, summary: str) -> argparse.ArgumentParser:
        return commands.add_parser(
            name, parents=[common], help=summary, description=summary, allow_abbrev=False
        )

    _upload_options(
        command("upload", "Upload files (by object id, a manifest, or registering with Song).")
    )
    _download_options(command("download", "Download objects by id, a manifest, or an analysis."))
    _view_options(command("view", "Slice BAM/CRAM by region, fetching only the blocks needed."))
    url = command("url", "Print a URL of the whole object for other tools.")
    url.add_argument("--object-id", type=parse_uuid, required=True)
    command("info", "Show the broker, Song and token in use (the token masked).").add_argument(
        "--verbose", action="store_true"
    )
    command("manifest", "Print a manifest.").add_argument("--manifest", required=True)
    st = command("status", "Show the journal: queued, running, paused, failed, done.")
    st.add_argument("--all", action="store_true", help="include done and cancelled transfers")
    res = command("resume", "Resume unfinished transfers from the journal.")
    res.add_argument("transfer_id", nargs="*", help="ids (or prefixes) from `status`")
    _mount_options(command("mount", "Mount the objects as a read-only file system (FUSE)."))
    command("version", "Show the client's version, the broker and the broker's version.")
    command("help", "Show the help of a command (or of all).").add_argument(
        "topic", nargs="?", metavar="COMMAND", help="the command to explain"
    )
    command("login", "Save the access token in the OS keyring.")
    command("logout", "Forget the saved access token.")
    return parser


def _upload_options(up: argparse.ArgumentParser) -> None:
    up.add_argument("--object-id", type=parse_uuid, help="the object id Song gave the file")
    up.add_argument("--file", action="append", default=[], help="the file (repeat with --study)")
    up.add_argument("--md5", help="the file's MD5 (computed when not given)")
    up.add_argument("--manifest", help="Song's 3-column upload manifest (path or URL)")
    up.add_argument("--study", help="register the files in this Song study first")
    up.add_argument(
        "--access", type=str.lower, choices=("open", "controlled"), default="controlled"
    )
    up.add_argument("--publish", action="store_true", help="publish the analysis when done")
    up.add_argument("--payload", help="a JSON submission template for --study (files added)")
    up.add_argument("--donor", default="donor-1", help="submitter donor id for --study")
    up.add_argument("--sample", default="sample-1", help="submitter sample id for --study")
    up.add_argument("--force", action="store_true", help="upload even if the object exists "
                    "(--study: register changed files as a new analysis)")  # fmt: skip
    _flag(up, "--verify-connection", True, "check the storage connection first")


def _download_options(down: argparse.ArgumentParser) -> None:
    down.add_argument("--object-id", nargs="+", type=parse_uuid, help="one or more object ids")
    down.add_argument("--manifest", help="an 11-column download manifest (path or URL)")
    down.add_argument("--analysis-id", help="every file of this analysis (with --study-id)")
    down.add_argument("--study-id", "--program-id", dest="study_id", help="the analysis' study")
    down.add_argument("--output-dir", default=".", help="where files go (created if missing)")
    down.add_argument(
        "--output-layout", type=str.lower, choices=("filename", "bundle", "id"),
        default="filename",
    )  # fmt: skip
    down.add_argument("--offset", type=int, default=0, help="first byte to download")
    down.add_argument("--length", type=int, default=-1, help="bytes to download (-1: all)")
    _flag(down, "--index", True, "also download each file's index (.bai, .crai, .tbi, .csi)")
    _flag(down, "--validate", True, "check the whole-file MD5")
    down.add_argument("--force", action="store_true", help="overwrite existing files")
    _flag(down, "--verify-connection", True, "check the storage connection first")


def _mount_options(mount: argparse.ArgumentParser) -> None:
    mount.add_argument("--mount-point", required=True, help="an empty directory to mount at")
    mount.add_argument("--manifest", help="only the objects of this manifest (path or URL)")
    mount.add_argument(
        "--layout", type=str.lower, choices=("bundle", "object-id"), default="bundle",
        help="bundle: <analysis id>/<file name>; object-id: a flat list of object ids",
    )  # fmt: skip
    mount.add_argument("--cache-metadata", action="store_true",
                       help="keep the object list on disk and use it next time")  # fmt: skip
    mount.add_argument("--daemonize", action="store_true", help="detach and run in background")
    mount.add_argument("--options", help="FUSE mount options, e.g. allow_other,fsname=score")
    _flag(mount, "--verify-connection", True, "check the storage connection first")


def _view_options(view: argparse.ArgumentParser) -> None:
    view.add_argument("--object-id", nargs="+", type=parse_uuid, help="one or more objects")
    view.add_argument("--manifest", help="slice every BAM/CRAM of this download manifest")
    view.add_argument("--input-file", help="a local BAM or CRAM instead of an object")
    view.add_argument("--input-file-index", help="the local file's index (.bai, .crai)")
    view.add_argument("--query", nargs="+", action="extend", help="regions: chr:start-end ...")
    view.add_argument("--bed-query", help="regions from a BED file")
    view.add_argument("--contained", action="store_true", help="records inside the regions only")
    view.add_argument("--header-only", action="store_true", help="the header alone")
    view.add_argument("--output-original-header", action="store_true",
                      help="keep the header as it is (no @PG line added)")  # fmt: skip
    view.add_argument("--output-type", type=str.upper, choices=OUTPUT_TYPES, default="TRIMMED",
                      help="TRIMMED: each object's slice (score-client's only one)")  # fmt: skip
    view.add_argument("--output-format", type=str.lower, choices=("sam", "bam", "cram"),
                      help="default: the --output-file's extension, else SAM")  # fmt: skip
    view.add_argument("--output-dir", help="where slices go (named after object and query)")
    view.add_argument("--output-file", help="one slice into this file")
    view.add_argument("--stdout", action="store_true", help="SAM on stdout (the default)")
    _flag(view, "--output-index", False, "index the output (BAM, CRAM)")
    view.add_argument("--reference-file", help="the FASTA a CRAM was written against")
    view.add_argument("--force", action="store_true", help="overwrite an existing output file")
    _flag(view, "--verify-connection", True, "check the storage connection first")


def upload_request(args: argparse.Namespace) -> UploadRequest:
    return UploadRequest(
        files=tuple(Path(f) for f in args.file), object_id=args.object_id, md5=args.md5,
        manifest=args.manifest, study=args.study, access=args.access, publish=args.publish,
        payload=args.payload, donor=args.donor, sample=args.sample, force=args.force,
        verify_connection=args.verify_connection,
    )  # fmt: skip


def download_request(args: argparse.Namespace) -> DownloadRequest:
    return DownloadRequest(
        object_ids=tuple(args.object_id or ()), manifest=args.manifest,
        analysis_id=args.analysis_id, study_id=args.study_id, output_dir=Path(args.output_dir),
        output_layout=args.output_layout, offset=args.offset, length=args.length,
        index=args.index, validate=args.validate, force=args.force,
        verify_connection=args.verify_connection,
    )  # fmt: skip


def slice_request(args: argparse.Namespace) -> SliceRequest:
    return SliceRequest(
        object_ids=tuple(args.object_id or ()), manifest=args.manifest,
        input_file=args.input_file, input_file_index=args.input_file_index,
        queries=tuple(args.query or ()), bed_query=args.bed_query, contained=args.contained,
        header_only=args.header_only, output_original_header=args.output_original_header,
        output_format=args.output_format, output_dir=args.output_dir,
        output_file=args.output_file, stdout=args.stdout, output_index=args.output_index,
        reference_file=args.reference_file, force=args.force, output_type=args.output_type,
        verify_connection=args.verify_connection, json_summary=bool(getattr(args, "json", False)),
    )  # fmt: skip


Run = Callable[[Session], Coroutine[Any, Any, list[Outcome]]]


def _transfer_run(parser: argparse.ArgumentParser, args: argparse.Namespace) -> Run | None:
    """What a transfer command runs in its session, its request checked (a usage error, exit
    status 2, if the options do not go together); None for the other commands."""
    try:
        if args.command == "upload":
            upload = upload_request(args)
            return lambda session: transfers.upload(upload, session)
        if args.command == "download":
            download = download_request(args)
            return lambda session: transfers.download(download, session)
        if args.command == "view":
            view = slice_request(args)

            async def run_view(session: Session) -> list[Outcome]:
                from score_tui.batch.view import view as slice_view  # pysam loads only here

                return await slice_view(view, session)

            return run_view
    except RequestError as exc:
        parser.error(str(exc))
    if args.command == "resume":
        return lambda session: transfers.resume(args.transfer_id, session)
    return None


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command == "help":
        return _help(parser, args.topic)
    run = _transfer_run(parser, args)
    opt = vars(args)
    console = Console(stderr=True, quiet=bool(opt.get("silent")), highlight=False)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(message)s")
    try:
        settings = load(Overrides(
            profile=opt.get("profile"), server_url=opt.get("server_url"),
            metadata_url=opt.get("metadata_url"), token_file=opt.get("token_file"),
            concurrency=opt.get("concurrency"), bandwidth_limit=opt.get("bandwidth_limit"),
            ca_file=opt.get("ca_file"),
        ))  # fmt: skip
    except ConfigError as exc:
        console.print(f"[red]✗[/] {exc}")
        return EXIT_USAGE
    try:
        if run is not None:
            return asyncio.run(
                _transfer_command(run, args, settings, console, bool(opt.get("json")))
            )
        return _dispatch(args, settings, console, bool(opt.get("json")))
    except (ScoreTuiError, OSError) as exc:
        console.print(f"[red]✗[/] {exc}", soft_wrap=True)
        return EXIT_FAILED


def _help(parser: argparse.ArgumentParser, topic: str | None) -> int:
    """`help [COMMAND]`, as score-client's: the command's help, or the overview."""
    if topic is None:
        parser.print_help()
        return EXIT_OK
    try:
        parser.parse_args([topic, "--help"])
    except SystemExit as done:  # argparse exits after printing the help (or the error)
        return EXIT_OK if done.code in (0, None) else EXIT_USAGE
    return EXIT_OK


def _dispatch(args: argparse.Namespace, settings: Settings, console: Console, as_json: bool) -> int:
    out = sys.stdout
    if args.command == "mount":
        from score_tui.batch.mount import mount, mounted_files, parse_options

        files = mounted_files(settings, args.manifest, args.layout, args.cache_metadata)
        console.print(f"mounting {len(files)} objects at {args.mount_point}")
        mount(settings, Path(args.mount_point), files, args.daemonize, parse_options(args.options))
    elif args.command == "version":
        out.write(asyncio.run(info_commands.version(settings, as_json)) + "\n")
    elif args.command == "url":
        out.write(asyncio.run(info_commands.url(args, settings)) + "\n")
    elif args.command == "info":
        out.write(info_commands.info(settings, as_json) + "\n")
    elif args.command == "manifest":
        out.write(info_commands.manifest(args, settings))
    elif args.command == "status":
        info_commands.status(settings, console, as_json, args.all)
    elif args.command == "login":
        console.print(info_commands.login(args, settings))
    elif args.command == "logout":
        console.print(info_commands.logout(settings))
    return EXIT_OK


async def _transfer_command(
    run: Run, args: argparse.Namespace, settings: Settings, console: Console, as_json: bool
) -> int:
    quiet = bool(getattr(args, "quiet", False) or getattr(args, "silent", False))
    async with Session(settings, console, quiet) as session:
        try:
            outcomes = await run(session)
        except asyncio.CancelledError:
            task = asyncio.current_task()
            if not session.interrupted or task is None:
                raise
            task.uncancel()
            outcomes = []
        interrupted = session.interrupted
    for outcome in outcomes:
        if outcome.state == "failed" and outcome.transfer_id is None:  # failed before queueing
            console.print(f"[red]✗[/] {outcome.file}: {outcome.error}", soft_wrap=True)
    status = EXIT_INTERRUPTED if interrupted else exit_status(outcomes)
    if interrupted:
        console.print(
            "[yellow]interrupted[/]: unfinished transfers are paused; "
            "`score-tui --batch resume` continues them"
        )
    if as_json:
        summary = {
            "command": args.command,
            "ok": status == EXIT_OK,
            "exitStatus": status,
            "files": [o.to_json() for o in outcomes],
        }
        sys.stdout.write(json.dumps(summary, indent=2) + "\n")
    return status
