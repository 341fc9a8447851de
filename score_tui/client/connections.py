"""Keep-alive connections to object stores for the part threads, through the proxy the
environment names (HTTP_PROXY, HTTPS_PROXY, NO_PROXY), as httpx and curl do.
"""

from __future__ import annotations

import contextlib
import http.client
import select
import socket
import ssl
import threading
import urllib.request
from dataclasses import dataclass
from urllib.parse import urlsplit

from score_tui.client.tls import tls_context

#: Idle connections kept per store host.
IDLE_PER_HOST = 16


@dataclass(frozen=True, slots=True)
class Target:
    """Where a URL's request goes: the pool it belongs to and the request line's target."""

    pool: tuple[str, str]
    request_target: str
    host: str
    port: int
    tls: bool


def quick_ack(sock: socket.socket | None) -> None:
    """Ask the kernel to acknowledge what comes next at once: a server that leaves Nagle's
    algorithm on (Ceph RGW's default) otherwise holds a small body until our delayed ACK."""
    if sock is not None and hasattr(socket, "TCP_QUICKACK"):
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_QUICKACK, 1)


def _dropped(conn: http.client.HTTPConnection) -> bool:
    """Whether an idle connection was closed by the server (it is readable: EOF or junk)."""
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


class Connections:
    """A small pool of http.client connections, one request at a time on each."""

    def __init__(self, timeout: float, ca_file: str | None = None) -> None:
        self._timeout = timeout
        #: The extra CA file HTTPS connections trust besides the system's certificates.
        self.ca_file = ca_file
        self._idle: dict[tuple[str, str], list[http.client.HTTPConnection]] = {}
        self._lock = threading.Lock()
        self._closed = False
        self._proxies = urllib.request.getproxies_environment()

    def target(self, url: str) -> Target:
        parts = urlsplit(url)
        tls = parts.scheme == "https"
        port = parts.port or (443 if tls else 80)
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        proxy = self._proxy_for(parts.scheme, parts.hostname or "")
        if proxy is not None and not tls:
            path = url.split("#", 1)[0]  # a plain-HTTP proxy takes the absolute form
        return Target((parts.scheme, parts.netloc), path, parts.hostname or "", port, tls)

    def _proxy_for(self, scheme: str, host: str) -> str | None:
        proxy = self._proxies.get(scheme)
        # proxy_bypass_environment is public in urllib.request, but not in typeshed's stubs.
        bypass = urllib.request.proxy_bypass_environment  # type: ignore[attr-defined]
        if not proxy or bypass(host, self._proxies):
            return None
        return proxy

    def take(self, target: Target) -> http.client.HTTPConnection:
        """An idle connection to the target's host, or a new one (not yet connected)."""
        while True:
            with self._lock:
                idle = self._idle.get(target.pool)
                conn = idle.pop() if idle else None
            if conn is None:
                return self._new(target)
            if not _dropped(conn):
                conn.sock.settimeout(self._timeout)
                return conn
            conn.close()

    def _new(self, target: Target) -> http.client.HTTPConnection:
        scheme = "https" if target.tls else "http"
        proxy = self._proxy_for(scheme, target.host)
        conn: http.client.HTTPConnection
        if proxy is None:
            if target.tls:
                conn = http.client.HTTPSConnection(
                    target.host,
                    target.port,
                    timeout=self._timeout,
                    context=tls_context(self.ca_file),
                )
            else:
                conn = http.client.HTTPConnection(target.host, target.port, timeout=self._timeout)
            return conn
        via = urlsplit(proxy if "://" in proxy else f"http://{proxy}")
        proxy_port = via.port or (443 if via.scheme == "https" else 80)
        if target.tls:
            conn = http.client.HTTPSConnection(
                via.hostname or "",
                proxy_port,
                timeout=self._timeout,
                context=tls_context(self.ca_file),
            )
            conn.set_tunnel(target.host, target.port)
        else:
            conn = http.client.HTTPConnection(via.hostname or "", proxy_port, timeout=self._timeout)
        return conn

    def give_back(self, target: Target, conn: http.client.HTTPConnection) -> None:
        """Keep a connection whose last response was read to its end, for the next request."""
        with self._lock:
            idle = self._idle.setdefault(target.pool, [])
            if not self._closed and len(idle) < IDLE_PER_HOST and conn.sock is not None:
                idle.append(conn)
                return
        conn.close()

    def close(self) -> None:
        """Close the idle connections; those still in use are closed when given back."""
        with self._lock:
            self._closed = True
            pools, self._idle = self._idle, {}
        for idle in pools.values():
            for conn in idle:
                conn.close()
