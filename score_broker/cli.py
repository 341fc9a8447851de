# PYTHON_ARGCOMPLETE_OK
"""`score-broker`: run the broker and manage its API keys."""

from __future__ import annotations

import argparse
import ipaddress
import logging
import os
import re
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from score_broker import __version__
from score_broker.config import ConfigError, Settings, load_settings
from score_broker.errors import BrokerError
from score_broker.log_format import configure_logging
from score_broker.tls import check_server_files

log = logging.getLogger("score_broker")
DURATION = re.compile(r"^(\d+)([smhdw])$")
SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def duration_seconds(text: str) -> int:
    """'90m', '12h', '30d', '2w' or '3600s' as seconds."""
    match = DURATION.match(text.strip())
    if not match or int(match.group(1)) == 0:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a duration: use a number and a unit, e.g. 90m, 12h, 30d or 2w"
        )
    return int(match.group(1)) * SECONDS[match.group(2)]


class _Parser(argparse.ArgumentParser):
    """A parser that takes no abbreviations (a prefix of an option is an error, never read as
    the option); its subcommands' parsers are of the same class, so the same holds for them."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("allow_abbrev", False)
        super().__init__(*args, **kwargs)


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="score-broker",
        description="A Score-compatible broker that issues pre-signed URLs for object storage.",
    )
    parser.add_argument("--version", action="version", version=f"score-broker {__version__}")
    config = _Parser(add_help=False)
    config.add_argument("--config", type=Path, help="TOML configuration file")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    serve = commands.add_parser("serve", parents=[config], help="serve the Score REST API")
    serve.add_argument("--host", help="address to listen on (default 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port to listen on (default 8087)")
    serve.add_argument(
        "--workers", type=int, metavar="N", help="worker processes ([server] workers, default 1)"
    )

    keys = commands.add_parser("keys", help="create, list and revoke the broker's API keys")
    key_commands = keys.add_subparsers(dest="keys_command", required=True, metavar="ACTION")
    create = key_commands.add_parser(
        "create", parents=[config], help="create a key and print it (only once) on stdout"
    )
    create.add_argument(
        "--scope", action="append", required=True, help="a scope, e.g. score.READ (repeatable)"
    )
    create.add_argument("--expires", type=duration_seconds, help="lifetime, e.g. 30d or 12h")
    create.add_argument("--note", default="", help="a note shown by `keys list`")
    key_commands.add_parser("list", parents=[config], help="list keys (never the keys themselves)")
    revoke = key_commands.add_parser("revoke", parents=[config], help="revoke a key by its id")
    revoke.add_argument("key_id", help="the id shown by `keys list`")

    cleanup = commands.add_parser(
        "cleanup", parents=[config], help="abort stale uploads in progress, in the store and state"
    )
    cleanup.add_argument(
        "--older-than",
        type=_seconds,
        metavar="SECONDS",
        help="age limit in seconds since initiate, 0 allowed (default: the longest upload URL "
        "lifetime, [storage] upload_url_expiry or score_client_upload_url_expiry, when the "
        "upload's URLs stop working)",
    )
    cleanup.add_argument("--dry-run", action="store_true", help="only print what would go")

    db = commands.add_parser("db", help="the schema of the broker's database, and moving it")
    db_commands = db.add_subparsers(dest="db_command", required=True, metavar="ACTION")
    db_commands.add_parser(
        "upgrade", parents=[config], help="apply the schema migrations the database lacks"
    )
    db_commands.add_parser("status", parents=[config], help="print the schema versions")
    copy = db_commands.add_parser(
        "copy",
        parents=[config],
        help="copy a single-machine broker's SQLite files into the PostgreSQL of [database] url",
    )
    copy.add_argument(
        "--from",
        dest="source",
        required=True,
        metavar="sqlite:PATH",
        help="the old broker's data directory (or one of its .sqlite files), stopped",
    )

    song = commands.add_parser("song", help="the embedded Song's studies")
    song_commands = song.add_subparsers(dest="song_command", required=True, metavar="ACTION")
    song_import = song_commands.add_parser(
        "import",
        parents=[config],
        help="copy a study from a Song server into the embedded Song, keeping its ids and states",
    )
    song_import.add_argument(
        "--from",
        dest="source",
        required=True,
        metavar="URL",
        help="the Song server's base URL, e.g. https://song.example.org or http://host:port/song",
    )
    song_import.add_argument("--study", required=True, help="the study to copy")
    song_import.add_argument(
        "--token-file", type=Path, help="a file holding a bearer token for the source Song"
    )
    return parser


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not value >= 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds (0 or more)")
    return value


def _describe(settings: Settings) -> str:
    storage = settings.storage
    if storage.backend == "s3":
        s3 = storage.s3
        where = f"s3 {s3.endpoint_url or 'AWS'} bucket {s3.data_bucket}"
    else:
        where = f"local store {settings.local_directory}"
    song = settings.song.url
    listening = f"{settings.server.host}:{settings.server.port}"
    if settings.serves_tls:
        listening += f" (HTTPS, certificate {settings.server.tls_cert_file})"
    return f"{where}, Song {song}, listening on {listening}"


def serve(args: argparse.Namespace) -> int:
    overrides = {"host": args.host, "port": args.port, "workers": args.workers}
    settings = load_settings(args.config, overrides=overrides)
    server = settings.server
    if settings.serves_tls:  # before anything starts: a bad pair is a config error, exit 2
        check_server_files(server.tls_cert_file, server.tls_key_file)
    configure_logging(server.log_level, server.log_format)
    if server.workers == 1:
        return _serve(settings)
    from score_broker.workers import shared_metrics_directory

    with shared_metrics_directory() as directory:
        log.info(
            "%d worker processes; their metrics are added up in %s",
            settings.server.workers,
            directory,
        )
        return _serve(settings)


def _serve(settings: Settings) -> int:
    """Start as one process, or check everything once and start the workers."""
    import uvicorn

    from score_broker.app import build_services, create_app, ensure_admin_key
    from score_broker.workers import WORKER_APP, hand_over

    services = build_services(settings)
    log.info("score-broker %s: %s", __version__, _describe(settings))
    if not settings.auth.enabled:
        log.warning("authorization is off ([auth] enabled = false): development mode")
    admin_key = ensure_admin_key(settings, services.authenticator.keys)
    if admin_key is not None:
        log.warning(
            "created an admin API key (Score and Song, read and write); it is in %s", admin_key
        )
    auth = settings.auth
    if (auth.jwt_public_key_file or auth.jwt_public_key_url or auth.jwt_jwks_url) and not (
        auth.jwt_issuer and auth.jwt_audience
    ):
        log.warning(
            "JWT issuer or audience is not set, so it is not checked; "
            "set [auth] jwt_issuer and jwt_audience"
        )
    if settings.server.host in ("0.0.0.0", "::") and not settings.server.public_url:
        log.warning(
            "listening on all interfaces but URLs name %s; set [server] public_url so that "
            "other machines can reach the URLs the broker hands out",
            settings.public_url,
        )
    server = settings.server
    if server.metrics and not server.metrics_token and not _loopback(server.host):
        log.warning(
            "/metrics is open to anyone who can reach %s:%d; set [server] metrics_token (or "
            "metrics = false) unless a firewall keeps others out",
            server.host,
            server.port,
        )
    workers = server.workers
    if workers > 1:
        hand_over(settings)
    uvicorn.run(
        create_app(settings, services) if workers == 1 else WORKER_APP,
        factory=workers > 1,
        workers=workers,
        host=settings.server.host,
        port=settings.server.port,
        access_log=False,
        log_config=None,
        log_level=settings.server.log_level,
        timeout_keep_alive=30,
        # X-Forwarded-For and -Proto are believed only from the proxies named in the
        # configuration (uvicorn would otherwise believe any local process).
        proxy_headers=bool(settings.server.trusted_proxies),
        forwarded_allow_ips=settings.server.trusted_proxies or None,
        ssl_certfile=server.tls_cert_file or None,
        ssl_keyfile=server.tls_key_file or None,
    )
    return 0


def _loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


def _when(stamp: float | None) -> str:
    if stamp is None:
        return "-"
    return datetime.fromtimestamp(stamp, UTC).strftime("%Y-%m-%d %H:%M UTC")


def keys(args: argparse.Namespace) -> int:
    from score_broker.auth.keys import KeyStore
    from score_broker.database.migrations import KEYS
    from score_broker.database.opening import open_databases

    settings = load_settings(args.config)
    store = KeyStore(open_databases(settings.database, settings.data_directory, (KEYS,))[KEYS])
    if args.keys_command == "create":
        try:
            token, record = store.create(args.scope, args.expires, args.note)
        except ValueError as error:
            print(f"score-broker: {error}", file=sys.stderr)
            return 2
        print(token)
        print(f"created key {record.id} with scopes {' '.join(record.scopes)}", file=sys.stderr)
        return 0
    if args.keys_command == "list":
        print(f"{'ID':<10}{'STATE':<9}{'CREATED':<22}{'EXPIRES':<22}SCOPES")
        for record in store.records():
            print(
                f"{record.id:<10}{record.state:<9}{_when(record.created):<22}"
                f"{_when(record.expires):<22}{' '.join(record.scopes)}"
                + (f"  # {record.note}" if record.note else "")
            )
        return 0
    if not store.revoke(args.key_id):
        print(f"score-broker: there is no key {args.key_id!r}; see `keys list`.", file=sys.stderr)
        return 1
    print(f"revoked key {args.key_id}", file=sys.stderr)
    return 0


def _age(seconds: float) -> str:
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds / size:.1f}{unit}"
    return f"{seconds:.0f}s"


def cleanup(args: argparse.Namespace) -> int:
    """Abort uploads in progress older than the limit; print each one removed (or, with
    --dry-run, each one that would be)."""
    from score_broker.app import build_cleanup

    settings = load_settings(args.config)
    configure_logging("warning", settings.server.log_format)
    older_than = args.older_than
    if older_than is None:
        older_than = settings.storage.longest_upload_url_expiry
    work = build_cleanup(settings)
    stale = work.stale(older_than)
    done = stale if args.dry_run else work.remove(stale)
    verb = "would remove" if args.dry_run else "removed"
    for upload in done:
        print(
            f"{verb} upload {upload.upload_id} of object {upload.object_id} "
            f"(initiated {_age(upload.age)} ago)"
        )
    print(f"{verb} {len(done)} of {len(stale)} stale uploads (older than {older_than:g} s)",
          file=sys.stderr)  # fmt: skip
    return 0 if len(done) == len(stale) else 1


def db(args: argparse.Namespace) -> int:
    """`db upgrade`, `db status` and `db copy --from sqlite:PATH`."""
    from score_broker.database import migrations
    from score_broker.database.opening import open_for_upgrade

    settings = load_settings(args.config)
    if args.db_command == "copy":
        return _db_copy(settings, args.source)
    for database, components in open_for_upgrade(settings.database, settings.data_directory):
        try:
            if args.db_command == "upgrade":
                applied = migrations.upgrade(database, components)
                for migration in applied:
                    print(f"{database.describe()}: {migration.component} schema "
                          f"{migration.version}: {migration.description}")  # fmt: skip
                if not applied:
                    print(f"{database.describe()}: up to date")
            else:
                have = migrations.versions(database)
                for component in components:
                    version, latest = have.get(component, 0), migrations.latest(component)
                    state = "up to date" if version == latest else f"needs {latest}"
                    print(f"{database.describe()}: {component} schema {version} ({state})")
        finally:
            database.close()
    return 0


def _db_copy(settings: Settings, source: str) -> int:
    """A stopped broker's SQLite files into the PostgreSQL of [database] url."""
    from score_broker.database.connection import PostgresDatabase
    from score_broker.database.copying import Copied, CopyRefused, copy, sources
    from score_broker.database.migrations import KEYS, SONG, upgrade
    from score_broker.database.opening import is_postgres

    path = source.removeprefix("sqlite:")
    if not source.startswith("sqlite:") or not path:
        raise CopyRefused("--from takes sqlite:PATH, e.g. sqlite:/var/lib/score-broker")
    files = sources(Path(path).expanduser())
    if not is_postgres(settings.database.url):
        raise CopyRefused("db copy writes into PostgreSQL: set [database] url to it first.")
    target = PostgresDatabase(settings.database.url, 2)
    try:
        upgrade(target, (KEYS, SONG))

        def report(copied: Copied) -> None:
            print(f"copied {copied.rows} rows of {copied.table}")

        done = copy(files, target, report)
    finally:
        target.close()
    print(f"copied {sum(c.rows for c in done)} rows from {path} into {target.describe()}",
          file=sys.stderr)  # fmt: skip
    return 0


def _token(path: Path | None) -> str | None:
    """The token in --token-file (never shown)."""
    if path is None:
        return None
    try:
        token = path.read_text().strip()
    except (OSError, UnicodeDecodeError) as error:
        raise ConfigError(f"cannot read --token-file {path} ({type(error).__name__})") from None
    if not token:
        raise ConfigError(f"--token-file {path} is empty; put the source Song's token in it")
    return token


def song(args: argparse.Namespace) -> int:
    """`song import`: one line per analysis on stdout, a summary on stderr; 1 if any analysis
    could not be imported."""
    from score_broker.app import build_embedded_song
    from score_broker.song.importer import CONFLICTING, FAILED, IMPORTED, PRESENT, StudyImport
    from score_broker.song.source import SongSource

    settings = load_settings(args.config)
    if settings.song.url != "embedded":
        print(
            f"score-broker: this broker's Song is {settings.song.url!r}, not the embedded one; "
            'set [song] url = "embedded" in the configuration to import into it',
            file=sys.stderr,
        )
        return 2
    token = _token(args.token_file)
    counts = dict.fromkeys((IMPORTED, PRESENT, CONFLICTING, FAILED), 0)
    with SongSource(args.source, token) as source:
        study = source.study(args.study)
        analyses = source.analyses(args.study)
        importer = StudyImport(build_embedded_song(settings), source.analysis_type)
        if importer.ensure_study(study):
            print(f"created study {args.study}")
        for read in analyses:
            analysis_id = str(read.get("analysisId"))
            outcome = importer.analysis(read, source.exported_payload(args.study, analysis_id))
            counts[outcome.kind] += 1
            print(f"{outcome.kind:<16} {analysis_id}  {outcome.detail}".rstrip(), flush=True)
    summary = ", ".join(f"{count} {kind}" for kind, count in counts.items())
    print(f"study {args.study} from {source.url}: {summary}", file=sys.stderr)
    return 1 if counts[CONFLICTING] or counts[FAILED] else 0


COMMANDS = {"serve": serve, "keys": keys, "cleanup": cleanup, "db": db, "song": song}


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    if argv is None and "_ARGCOMPLETE" in os.environ:  # the shell asks for completions
        import argcomplete

        argcomplete.autocomplete(parser)
    args = parser.parse_args(argv)
    try:
        return COMMANDS[args.command](args)
    except (ConfigError, BrokerError) as error:
        print(f"score-broker: {error}", file=sys.stderr)
        return 2
