"""Keep-alive HTTP connections to an object store, for the store's own calls (any thread).

The calls are pre-signed URLs with long query strings; urllib3 parses and re-encodes every URL
character by character in Python, which cost a third of a millisecond per call. Here a call is
http.client's C-accelerated exchange on a pooled socket. Failures of the network and answers
500, 502, 503 and 504 are tried again, `attempts` times in all, with a short backoff.

Ceph RGW's beast frontend leaves Nagle's algorithm on (`tcp_nodelay=0`, its default): a response
whose small body follows its headers in a second segment waits for the client's delayed ACK,
40 ms on Linux, so every listing or state read took 45 ms. The connections here ask for an
immediate ACK (TCP_QUICKACK) before reading each response.

As botocore did: requests go through the proxy the environment names (HTTP_PROXY, HTTPS_PROXY,
NO_PROXY), and TLS is verified against AWS_CA_BUNDLE when it is set.
"""

from __future__ import annotations

import contextlib
import http.client
import os
import random
import select
import socket
import ssl
import threading
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

from score_broker.retrying import retrying

RETRIED_STATUSES = frozenset({500, 502, 503, 504})
IDLE_PER_HOST = 64


@dataclass(frozen=True, slots=True)
class Answer:
    status: int
    headers: dict[str, str]  # lower-case names
    body: bytes


class _Busy(Exception):
    """An answer worth trying again for (500, 502, 503, 504)."""

    def __init__(self, answer: Answer) -> None:
        super().__init__(answer.status)
        self.answer = answer


class Unreachable(Exception):
    """The store did not answer (connection refused, reset, timed out), even after retries."""


def _quick_ack(sock: socket.socket | None) -> None:
    if sock is not None and hasattr(socket, "TCP_QUICKACK"):
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_QUICKACK, 1)


def _dropped(conn: http.client.HTTPConnection) -> bool:
    """Whether an idle connection was closed by the server (it reads as ready: EOF)."""
    sock = conn.sock
    if sock is None:
        return True
    if isinstance(sock, ssl.SSLSocket) and sock.pending():
        return True
    try:
        readable, _, _ = select.select([sock], [], [], 0)
    except (OSError, ValueError):
        return True
    return bool(readable)


class HttpPool:
    """Connections by scheme and host; one request at a time on each."""

    def __init__(self, connect_timeout: float, read_timeout: float, attempts: int) -> None:
        self._connect_timeout = connect_timeout
        self._read_timeout = read_timeout
        self._attempts = max(attempts, 1)
        self._idle: dict[tuple[str, str], list[http.client.HTTPConnection]] = {}
        self._lock = threading.Lock()
        self._tls: ssl.SSLContext | None = None
        self._proxies = urllib.request.getproxies_environment()

    def request(
        self, method: str, url: str, body: bytes | None, headers: Mapping[str, str]
    ) -> Answer:
        parts = urlsplit(url)
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        if parts.scheme == "http" and self._proxy_for("http", parts.hostname or ""):
            target = url  # a plain-HTTP proxy takes the absolute form
        pool = (parts.scheme, parts.netloc)

        def once() -> Answer:
            try:
                answer = self._exchange(
                    pool, parts.hostname or "", parts.port, method, target, body, headers
                )
            except (OSError, http.client.HTTPException) as error:
                raise Unreachable(f"{type(error).__name__}: {error}") from error
            if answer.status in RETRIED_STATUSES:
                raise _Busy(answer)
            return answer

        try:
            return retrying(
                once,
                self._attempts,
                retryable=lambda error: isinstance(error, Unreachable | _Busy),
                delay=lambda number: random.uniform(0.05, 0.2) * number,  # noqa: S311 - jitter
            )
        except _Busy as busy:
            return busy.answer  # still busy after the last try: the caller reads the answer

    def _exchange(
        self,
        pool: tuple[str, str],
        host: str,
        port: int | None,
        method: str,
        target: str,
        body: bytes | None,
        headers: Mapping[str, str],
    ) -> Answer:
        conn = self._take(pool, host, port)
        reusable = False
        try:
            if conn.sock is None:
                conn.connect()
                assert conn.sock is not None
                conn.sock.settimeout(self._read_timeout)
            conn.putrequest(method, target, skip_accept_encoding=True)
            for name, value in headers.items():
                conn.putheader(name, value)
            if body is not None or method in ("PUT", "POST"):
                conn.putheader("Content-Length", str(len(body or b"")))
            conn.endheaders(body)
            _quick_ack(conn.sock)
            response = conn.getresponse()
            data = response.read()
            reusable = not response.will_close
            headers_read = {name.lower(): value for name, value in response.getheaders()}
            return Answer(response.status, headers_read, data)
        finally:
            self._give_back(pool, conn, reusable)

    def _take(
        self, pool: tuple[str, str], host: str, port: int | None
    ) -> http.client.HTTPConnection:
        while True:
            with self._lock:
                idle = self._idle.get(pool)
                conn = idle.pop() if idle else None
            if conn is None:
                break
            if not _dropped(conn):
                return conn
            conn.close()
        tls = pool[0] == "https"
        port = port or (443 if tls else 80)
        proxy = self._proxy_for(pool[0], host)
        if proxy is None:
            return self._connection(tls, host, port)
        # To a TLS store, a tunnel (CONNECT) through the proxy; TLS then runs inside it.
        via = urlsplit(proxy if "://" in proxy else f"http://{proxy}")
        conn = self._connection(tls, via.hostname or "", via.port or 80)
        if tls:
            conn.set_tunnel(host, port)
        return conn

    def _connection(self, tls: bool, host: str, port: int) -> http.client.HTTPConnection:
        if tls:
            return http.client.HTTPSConnection(
                host, port, timeout=self._connect_timeout, context=self._tls_context()
            )
        return http.client.HTTPConnection(host, port, timeout=self._connect_timeout)

    def _proxy_for(self, scheme: str, host: str) -> str | None:
        proxy = self._proxies.get(scheme)
        # proxy_bypass_environment is public in urllib.request, but not in typeshed's stubs.
        bypass = urllib.request.proxy_bypass_environment  # type: ignore[attr-defined]
        if not proxy or bypass(host, self._proxies):
            return None
        return proxy

    def _give_back(
        self, pool: tuple[str, str], conn: http.client.HTTPConnection, reusable: bool
    ) -> None:
        if reusable:
            with self._lock:
                idle = self._idle.setdefault(pool, [])
                if len(idle) < IDLE_PER_HOST:
                    idle.append(conn)
                    return
        conn.close()

    def _tls_context(self) -> ssl.SSLContext:
        with self._lock:
            if self._tls is None:
                self._tls = ssl.create_default_context(
                    cafile=os.environ.get("AWS_CA_BUNDLE") or None
                )
            return self._tls

    def close(self) -> None:
        with self._lock:
            pools, self._idle = self._idle, {}
        for idle in pools.values():
            for conn in idle:
                conn.close()
