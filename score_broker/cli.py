"""`score-broker`: run the broker."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from score_broker import __version__
from score_broker.config import ConfigError, Settings, load_settings
from score_broker.errors import BrokerError

log = logging.getLogger("score_broker")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="score-broker",
        description="A Score-compatible broker that issues pre-signed URLs for object storage.",
    )
    parser.add_argument("--version", action="version", version=f"score-broker {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    serve = commands.add_parser("serve", help="serve the Score REST API")
    serve.add_argument("--config", type=Path, help="TOML configuration file")
    serve.add_argument("--host", help="address to listen on (default 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port to listen on (default 8087)")
    return parser


def _configure_logging(level: str) -> None:
    logging.basicConfig(
        level=level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )


def _describe(settings: Settings) -> str:
    storage = settings.storage
    if storage.backend == "s3":
        s3 = storage.s3
        where = f"s3 {s3.endpoint_url or 'AWS'} bucket {s3.data_bucket}"
    else:
        where = f"local store {settings.local_directory}"
    return f"{where}, listening on {settings.server.host}:{settings.server.port}"


def serve(args: argparse.Namespace) -> int:
    import uvicorn

    from score_broker.app import create_app

    settings = load_settings(args.config, overrides={"host": args.host, "port": args.port})
    _configure_logging(settings.server.log_level)
    app = create_app(settings)
    log.info("score-broker %s: %s", __version__, _describe(settings))
    if not settings.auth.enabled:
        log.warning("authorization is off ([auth] enabled = false): development mode")
    uvicorn.run(
        app,
        host=settings.server.host,
        port=settings.server.port,
        access_log=False,
        log_config=None,
        log_level=settings.server.log_level,
        timeout_keep_alive=30,
    )
    return 0


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        return serve(args)
    except (ConfigError, BrokerError) as error:
        print(f"score-broker: {error}", file=sys.stderr)
        return 2
