"""Calls to a broker or Song: whole requests and answers on pooled http.client connections,
each exchange in a thread.

httpx builds each request and handles its answer in Python (URL merging, auth and redirect
flows, a cookie jar that parses every answer) and httpcore checks every idle connection at each
request; with many small files in flight, each making its broker calls, that was most of the
event loop's time. Answers are handed back as httpx Responses, so callers read them as before.
"""

from __future__ import annotations

import asyncio
import http.client
import json
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from urllib.parse import urlencode

import httpx

from score_tui.client.connections import Connections, Target, quick_ack


class ServiceHttp:
    """Requests to one service, with its base URL and headers (User-Agent, bearer token)."""

    def __init__(
        self,
        base_url: str,
        headers: dict[str, str],
        timeout: float,
        ca_file: str | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._headers = {**headers, "Accept-Encoding": "identity"}
        self._connections = Connections(timeout, ca_file)
        self._threads = ThreadPoolExecutor(32, thread_name_prefix="service")

    async def request(
        self,
        method: str,
        path: str,
        params: dict[str, Any] | None = None,
        json_body: Any = None,
    ) -> httpx.Response:
        """One exchange; httpx.TransportError (ConnectError, ReadTimeout) when it fails."""
        url = self.base_url + path
        if params:
            url += "?" + urlencode(params)
        headers = dict(self._headers)
        body = b""
        if json_body is not None:
            body = json.dumps(json_body).encode()
            headers["Content-Type"] = "application/json"
        if body or method in ("POST", "PUT", "PATCH"):
            headers["Content-Length"] = str(len(body))
        target = self._connections.target(url)
        loop = asyncio.get_running_loop()
        request = httpx.Request(method, url)
        try:
            status, answer_headers, content = await loop.run_in_executor(
                self._threads, self._exchange, target, method, headers, body
            )
        except TimeoutError as error:
            raise httpx.ReadTimeout(str(error) or "timed out", request=request) from error
        except (OSError, http.client.HTTPException) as error:
            text = str(error) or type(error).__name__
            raise httpx.ConnectError(text, request=request) from error
        return httpx.Response(status, headers=answer_headers, content=content, request=request)

    def _exchange(
        self, target: Target, method: str, headers: dict[str, str], body: bytes
    ) -> tuple[int, list[tuple[str, str]], bytes]:
        conn = self._connections.take(target)
        reusable = False
        try:
            if conn.sock is None:
                conn.connect()
            conn.request(method, target.request_target, body or None, headers)
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
