"""`score-tui --serve`: the terminal UI in a browser, through textual-serve.

Each browser tab runs its own `score-tui` process with the options given here minus --serve,
--host and --port, so it reads the same configuration and the same journal. Tabs share the queue
as a terminal UI and a batch run do: one process moves a transfer at a time (its lock), and each
shows what the others do (the journal). With --demo, this process starts the demo broker and
seeds it once; the tabs' `--demo` finds it running and leaves it to this process.

The page has no login and gives full control of the user's transfers, so: a warning when the
address is not loopback; on loopback, requests that name another host are refused (DNS
rebinding); and the websocket is refused to pages of other origins (another site's script in
the same browser).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import errno
import ipaddress
import logging
import shlex
import socket
import sys
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from aiohttp import web
from textual_serve.server import Server

from score_tui.errors import ScoreTuiError

if TYPE_CHECKING:
    from score_tui.demo import EmbeddedBroker

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8000
#: Options of this process that the browser sessions do not get (those with a value, then not).
OWN_OPTIONS_WITH_VALUE = ("--host", "--port")
OWN_FLAGS = ("--serve",)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class ServeError(ScoreTuiError):
    """The page cannot be served; the message says why and what to do."""


def parse_port(text: str | None) -> int:
    if text is None:
        return DEFAULT_PORT
    try:
        port = int(text)
    except ValueError:
        port = 0
    if not 0 < port < 65536:
        raise ServeError(f"--port takes a port number from 1 to 65535, not {text!r}")
    return port


def session_arguments(arguments: list[str]) -> list[str]:
    """The command line of a browser session: this one without --serve, --host and --port."""
    kept: list[str] = []
    skip_value = False
    for argument in arguments:
        if skip_value:
            skip_value = False
        elif argument in OWN_FLAGS:
            pass
        elif argument in OWN_OPTIONS_WITH_VALUE:
            skip_value = True
        elif not argument.startswith(tuple(f"{o}=" for o in OWN_OPTIONS_WITH_VALUE)):
            kept.append(argument)
    return kept


def session_command(arguments: list[str]) -> str:
    return shlex.join([sys.executable, "-m", "score_tui", *session_arguments(arguments)])


def is_loopback(host: str) -> bool:
    """Whether every address `host` names is a loopback address."""
    if host.lower() == "localhost":
        return True
    try:
        found = {info[4][0] for info in socket.getaddrinfo(host, None)}
    except (OSError, UnicodeError):
        return False
    return bool(found) and all(
        ipaddress.ip_address(str(address).split("%")[0]).is_loopback for address in found
    )


def _loopback_name(name: str | None) -> bool:
    """Whether a Host header's name is a loopback one (no lookup: a name is trusted only if it
    is `localhost` or a loopback address)."""
    if name is None:
        return False
    name = name.strip("[]").lower()
    if name == "localhost" or name.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def url_of(host: str, port: int) -> str:
    """Where a browser on this machine finds the page (any-address hosts: loopback)."""
    shown = {"": "127.0.0.1", "0.0.0.0": "127.0.0.1", "::": "::1"}.get(host, host)
    if ":" in shown:
        shown = f"[{shown}]"
    return f"http://{shown}:{port}"


class TuiServer(Server):
    """textual-serve's server, quiet, guarded, with page URLs taken from the request (so the
    page works under whatever name and port the browser used, an SSH tunnel's too), and
    stopping its sessions cleanly when it stops."""

    def __init__(self, command: str, host: str, port: int) -> None:
        super().__init__(command, host=host, port=port, title="score-tui")
        self.loopback_only = is_loopback(host)
        self._sessions: set[asyncio.Task[Any]] = set()

    def initialize_logging(self) -> None:
        # The log file of score-tui has the server's messages; requests are not logged.
        logging.getLogger("aiohttp.access").setLevel(logging.WARNING)

    async def _make_app(self) -> web.Application:
        app = await super()._make_app()
        app.middlewares.append(self._guard)
        return app

    @web.middleware
    async def _guard(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        if self.loopback_only and not _loopback_name(request.url.host):
            raise web.HTTPForbidden(text="score-tui answers only to localhost names\n")
        if request.path == "/ws":
            origin = request.headers.get("Origin", "")
            if urlsplit(origin).netloc.lower() != request.host.lower():
                raise web.HTTPForbidden(text="score-tui refuses pages of other origins\n")
            task = asyncio.current_task()
            assert task is not None
            self._sessions.add(task)
            try:
                return await handler(request)
            finally:
                self._sessions.discard(task)
        return await handler(request)

    async def handle_index(self, request: web.Request) -> web.StreamResponse:
        # The page's websocket and static URLs are made from public_url, with no await between.
        self.public_url = f"{request.scheme}://{request.host}"
        return await super().handle_index(request)

    async def on_startup(self, app: web.Application) -> None:
        print(
            f"score-tui: open {url_of(self.host, self.port)} in a browser (Ctrl-C stops)",
            file=sys.stderr,
            flush=True,
        )

    async def on_shutdown(self, app: web.Application) -> None:
        """Tell every session to quit (each pauses its transfers) and wait for them."""
        sessions = list(self._sessions)
        for task in sessions:
            task.cancel()
        await asyncio.gather(*sessions, return_exceptions=True)


def serve(args: argparse.Namespace, arguments: list[str]) -> int:
    """Serve the UI until Ctrl-C or SIGTERM; `arguments` are this process's command line."""
    host: str = DEFAULT_HOST if args.host is None else args.host
    port = parse_port(args.port)
    _check_free(host, port)
    if not is_loopback(host):
        print(
            f"score-tui: warning: {host} is not a loopback address: anyone who can reach port "
            f"{port} controls your transfers, with no login (prefer 127.0.0.1 and an SSH tunnel)",
            file=sys.stderr,
        )
    broker = _start_demo(args) if args.demo else None
    server = TuiServer(session_command(arguments), host, port)
    try:
        server.serve()
    except OSError as exc:
        raise ServeError(_listen_error(host, port, exc)) from None
    finally:
        if broker is not None:
            broker.stop()
    return 0


def _check_free(host: str, port: int) -> None:
    """Fail before the demo broker starts when the address cannot be listened on."""
    try:
        infos = socket.getaddrinfo(host or None, port, type=socket.SOCK_STREAM)
        with socket.socket(infos[0][0], socket.SOCK_STREAM) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            probe.bind(infos[0][4])
    except OSError as exc:
        raise ServeError(_listen_error(host, port, exc)) from None


def _listen_error(host: str, port: int, exc: OSError) -> str:
    if exc.errno == errno.EADDRINUSE:
        return f"port {port} is already in use; choose another with --port"
    if isinstance(exc, socket.gaierror) or exc.errno == errno.EADDRNOTAVAIL:
        return f"cannot listen on {host!r}: not an address of this machine; check --host"
    return f"cannot listen on {host}:{port} ({exc.strerror or exc}); check --host and --port"


def _start_demo(args: argparse.Namespace) -> EmbeddedBroker:
    """One demo broker for every browser session, started and seeded here."""
    from score_tui import demo

    broker = demo.EmbeddedBroker(
        args.demo_dir or demo.default_directory(), args.demo_port or demo.DEFAULT_PORT
    )
    print(f"Starting the demo broker in {broker.directory} …", file=sys.stderr)
    broker.start()
    try:
        print("Seeding the demo study …", file=sys.stderr)
        demo.seed(broker)
    except BaseException:
        with contextlib.suppress(Exception):
            broker.stop()
        raise
    return broker
