# PYTHON_ARGCOMPLETE_OK
"""`score-tui`: the terminal UI (`--demo`: on an embedded broker); `--batch COMMAND`: headless."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from score_tui import __version__
from score_tui.config import ConfigError, Overrides, Settings, load, state_dir

if TYPE_CHECKING:
    from score_tui.demo import EmbeddedBroker


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="score-tui",
        allow_abbrev=False,
        description="Queue, watch and control uploads and downloads through a Score broker. "
        "`score-tui --batch COMMAND --help` lists the headless commands.",
    )
    parser.add_argument("--version", action="version", version=f"score-tui {__version__}")
    parser.add_argument("--batch", action="store_true", help="run a command without the UI")
    parser.add_argument(
        "--demo",
        action="store_true",
        help="start an embedded broker with a demo study and open the UI on it",
    )
    parser.add_argument("--demo-dir", type=Path, help="the demo broker's directory")
    parser.add_argument("--demo-port", type=int, help="the demo broker's port (default 18087)")
    parser.add_argument("--profile", help="the broker profile of the config file to use")
    parser.add_argument("--server-url", help="the broker (Score server) URL [STORAGE_URL]")
    parser.add_argument("--metadata-url", help="the Song URL [METADATA_URL]")
    parser.add_argument("--token-file", help="read the access token from this file")
    parser.add_argument("--ca-file", help="trust this CA (PEM) too, for HTTPS [SSL_CERT_FILE]")
    parser.add_argument(
        "--serve",
        action="store_true",
        help="serve the UI to a web browser (each tab runs score-tui with the other options)",
    )
    parser.add_argument("--host", help="with --serve: the address to listen on (127.0.0.1)")
    parser.add_argument("--port", help="with --serve: the port to listen on (8000)")
    return parser


def main(argv: list[str] | None = None) -> int:
    arguments = list(sys.argv[1:] if argv is None else argv)
    if argv is None and "_ARGCOMPLETE" in os.environ:  # the shell asks for completions
        _complete()
    if "--batch" in arguments:
        from score_tui.batch.cli import main as batch_main

        arguments.remove("--batch")
        return batch_main(arguments)
    args = _parser().parse_args(arguments)
    if not args.serve and (args.host is not None or args.port is not None):
        print("score-tui: --host and --port go with --serve", file=sys.stderr)
        return 2
    _log_to_file()
    try:
        return _serve(args, arguments) if args.serve else _run_app(args)
    except ConfigError as exc:
        print(f"score-tui: {exc}", file=sys.stderr)
        return 2


def _complete() -> None:
    """Print the completions the shell asks for and exit (argcomplete). `--batch` is routed by
    hand, so a line holding it completes the batch commands instead of the UI's options."""
    import argcomplete

    line = os.environ.get("COMP_LINE", "")[: int(os.environ.get("COMP_POINT") or 0)]
    words = line.split() if line[-1:].isspace() else line.split()[:-1]
    if "--batch" in words[1:]:
        from score_tui.batch.cli import build_parser

        parser = build_parser()
        parser.add_argument("--batch", action="store_true", help=argparse.SUPPRESS)
    else:
        parser = _parser()
    argcomplete.autocomplete(parser)


def _log_to_file() -> None:
    """Log to a file: the screen belongs to the UI."""
    path = state_dir() / "score-tui.log"
    path.parent.mkdir(parents=True, exist_ok=True)
    logging.basicConfig(
        filename=path, level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s"
    )
    logging.getLogger("httpx").setLevel(logging.WARNING)


def _overrides(args: argparse.Namespace) -> Overrides:
    """What the command line sets over the configuration file."""
    return Overrides(
        profile=args.profile,
        server_url=args.server_url,
        metadata_url=args.metadata_url,
        token_file=args.token_file,
        ca_file=args.ca_file,
    )


def _serve(args: argparse.Namespace, arguments: list[str]) -> int:
    """Check the configuration the browser sessions will use, then serve them."""
    from score_tui.errors import ScoreTuiError
    from score_tui.serve import ServeError, serve

    load(_overrides(args))
    try:
        return serve(args, arguments)
    except ScoreTuiError as exc:
        print(f"score-tui: {exc}", file=sys.stderr)
        return 2 if isinstance(exc, ServeError) else 1


def _run_app(args: argparse.Namespace) -> int:
    from score_tui import demo as demo_module
    from score_tui.app import TransferApp

    use_demo = bool(args.demo)
    broker: demo_module.EmbeddedBroker | None = None
    try:
        while True:
            overrides = _overrides(args)
            settings = load(overrides)
            seeded: dict[str, str] = {}
            if use_demo:
                if broker is None:
                    broker = demo_module.EmbeddedBroker(
                        args.demo_dir or demo_module.default_directory(),
                        args.demo_port or demo_module.DEFAULT_PORT,
                    )
                    # (Not in a browser session: `--serve` started the broker and says so.)
                    progress = sys.stderr.isatty()
                    if progress:
                        print(f"Starting the demo broker in {broker.directory} …", file=sys.stderr)
                    broker.stop_on_signals()
                    broker.start()
                    if progress:
                        print("Seeding the demo study …", file=sys.stderr)
                seeded = demo_module.seed(broker)
                broker.stop_on_signals()  # the seed's event loop reset SIGTERM's handler
                settings = _demo_settings(settings, broker)
            app = TransferApp(
                settings,
                resume_on_start=settings.resume_on_start,
                defaults=seeded,
                demo=use_demo,
                offer_embedded=not use_demo and not settings.broker_configured,
            )
            result = app.run()
            if result == "embedded":
                use_demo = True
            elif result != "restart":
                return app.return_code or 0
    except demo_module.DemoError as exc:
        print(f"score-tui: {exc}", file=sys.stderr)
        return 1
    finally:
        if broker is not None:
            broker.stop()


def _demo_settings(settings: Settings, broker: EmbeddedBroker) -> Settings:
    from score_tui.demo import BANDWIDTH_LIMIT

    engine = settings.engine
    if engine.bandwidth_limit is None:
        engine = replace(engine, bandwidth_limit=BANDWIDTH_LIMIT)
    return replace(
        settings,
        profile="demo",
        server_url=broker.url,
        metadata_url=f"{broker.url}/song",
        token=broker.token(),
        token_source=f"the demo broker's key ({broker.directory / 'data'})",
        engine=engine,
        broker_configured=True,
    )
