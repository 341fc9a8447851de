"""An httpx transport that sends each request on a pooled http.client connection in a thread.

httpcore's pool checks every idle connection (a system call or two each) whenever a request
starts or ends, and parses responses with h11 in Python. With 32 small files in flight, each
making its broker calls, that took 8 ms of the event loop's time per call, more than the
broker took to answer. Here a call costs a thread hop and http.client's C-accelerated parsing.
"""

from __future__ import annotations

import asyncio
import http.client
from concurrent.futures import ThreadPoolExecutor

import httpx

from score_tui.client.connections import Connections, Target, quick_ack


class ThreadedTransport(httpx.AsyncBaseTransport):
    """Sends httpx requests (whole bodies, whole responses) on blocking keep-alive sockets."""

    def __init__(self, timeout: float, threads: int = 32) -> None:
        self._connections = Connections(timeout)
        self._threads = ThreadPoolExecutor(threads, thread_name_prefix="api")

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        body = await request.aread()
        target = self._connections.target(str(request.url))
        # Ask for bodies as they are: the response is handed to httpx already read.
        headers = [
            (name.decode("latin-1"), value.decode("latin-1"))
            for name, value in request.headers.raw
            if name.lower() != b"accept-encoding"
        ]
        headers.append(("Accept-Encoding", "identity"))
        loop = asyncio.get_running_loop()
        try:
            status, answer_headers, content = await loop.run_in_executor(
                self._threads, self._exchange, target, request.method, headers, body
            )
        except TimeoutError as error:
            raise httpx.ReadTimeout(str(error) or "timed out", request=request) from error
        except (OSError, http.client.HTTPException) as error:
            raise httpx.ConnectError(str(error) or type(error).__name__, request=request) from error
        return httpx.Response(status, headers=answer_headers, content=content, request=request)

    def _exchange(
        self, target: Target, method: str, headers: list[tuple[str, str]], body: bytes
    ) -> tuple[int, list[tuple[str, str]], bytes]:
        conn = self._connections.take(target)
        reusable = False
        try:
            if conn.sock is None:
                conn.connect()
            conn.putrequest(method, target.request_target, skip_host=True,
                            skip_accept_encoding=True)  # fmt: skip
            for name, value in headers:
                conn.putheader(name, value)
            conn.endheaders(body or None)
            quick_ack(conn.sock)
            response = conn.getresponse()
            content = response.read()
            reusable = not response.will_close
            return response.status, response.getheaders(), content
        finally:
            if reusable:
                self._connections.give_back(target, conn)
            else:
                conn.close()

    async def aclose(self) -> None:
        self._threads.shutdown(wait=False, cancel_futures=True)
        self._connections.close()
