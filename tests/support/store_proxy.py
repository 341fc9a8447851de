"""A real HTTP proxy in front of an object store (or the broker's data plane) that counts
requests and, on demand, damages or stalls them: the failures a flaky link produces.
"""

from __future__ import annotations

import asyncio
import base64
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

import httpx
import uvicorn
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response, StreamingResponse

from tests.support.broker import free_port

DROPPED_HEADERS = {"content-length", "transfer-encoding", "connection", "host", "keep-alive"}


@dataclass
class Seen:
    """A request as the proxy saw it."""

    method: str
    path: str
    query: dict[str, str]
    range: str | None
    #: The bytes of the response body sent back.
    sent: int = 0

    @property
    def part_number(self) -> int | None:
        """S3's `partNumber`, or the number at the end of an Azure block id."""
        number = self.query.get("partNumber")
        if number:
            return int(number)
        block = self.query.get("blockid")
        return int(base64.b64decode(block).decode()[-5:]) if block else None


@dataclass
class Fault:
    """Damage the next `times` requests that `match`: flip a byte of the request or response
    body, stall the response after half its bytes, or answer 403."""

    kind: str
    match: Callable[[Seen], bool]
    times: int = 1


@dataclass
class StoreProxy:
    upstream: str
    port: int = field(default_factory=free_port)
    seen: list[Seen] = field(default_factory=list)
    faults: list[Fault] = field(default_factory=list)
    triggered: list[tuple[str, Seen]] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def add(self, kind: str, match: Callable[[Seen], bool], times: int = 1) -> None:
        self.faults.append(Fault(kind, match, times))

    def data_requests(self, method: str, object_id: str) -> list[Seen]:
        return [s for s in self.seen if s.method == method and object_id in s.path]

    def _fault_for(self, seen: Seen) -> str | None:
        for fault in self.faults:
            if fault.times > 0 and fault.match(seen):
                fault.times -= 1
                self.triggered.append((fault.kind, seen))
                return fault.kind
        return None

    async def __call__(self, scope, receive, send) -> None:  # type: ignore[no-untyped-def]
        if scope["type"] != "http":
            return
        request = Request(scope, receive)
        seen = Seen(
            request.method, request.url.path, dict(request.query_params),
            request.headers.get("range"),
        )  # fmt: skip
        self.seen.append(seen)
        fault = self._fault_for(seen)
        try:
            body = await request.body()
        except ClientDisconnect:  # the client was killed mid-request
            return
        if fault == "flip-request" and body:
            body = _flipped(body)
        if fault == "403":
            await Response("<Error><Code>AccessDenied</Code></Error>", 403)(scope, receive, send)
            return
        headers = {k: v for k, v in request.headers.items() if k.lower() not in DROPPED_HEADERS}
        # The path and query exactly as sent: a re-encoded path would break SharedKey signatures.
        target = self.upstream + scope["raw_path"].decode()
        if scope["query_string"]:
            target += "?" + scope["query_string"].decode()
        if fault is None and request.method == "GET":
            await self._stream(target, headers, seen, scope, receive, send)
            return
        async with httpx.AsyncClient(timeout=120) as client:
            upstream = await client.request(request.method, target, content=body, headers=headers)
        content = upstream.content
        seen.sent = len(content)
        if fault == "flip-response" and content:
            content = _flipped(content)
        reply = {k: v for k, v in upstream.headers.items() if k.lower() not in DROPPED_HEADERS}
        reply.pop("content-encoding", None)
        if fault == "stall":
            response: Response = StreamingResponse(
                _stalling(content), status_code=upstream.status_code, headers=reply
            )
            response.headers["content-length"] = str(len(content))
        else:
            response = Response(content, upstream.status_code, headers=reply)
        await response(scope, receive, send)

    async def _stream(self, target, headers, seen, scope, receive, send) -> None:  # type: ignore[no-untyped-def]
        """Pass a GET's body through as it comes, counting what is sent: a client that drops
        the connection early (htslib does) stops the count there."""
        client = httpx.AsyncClient(timeout=120)
        upstream = await client.send(
            client.build_request("GET", target, headers=headers), stream=True
        )

        async def body():  # type: ignore[no-untyped-def]
            try:
                async for chunk in upstream.aiter_raw():
                    seen.sent += len(chunk)
                    yield chunk
            finally:
                await upstream.aclose()
                await client.aclose()

        reply = {k: v for k, v in upstream.headers.items() if k.lower() not in DROPPED_HEADERS}
        if "content-length" in upstream.headers:
            reply["content-length"] = upstream.headers["content-length"]
        await StreamingResponse(body(), upstream.status_code, headers=reply)(scope, receive, send)

    def start(self) -> StoreProxy:
        config = uvicorn.Config(
            self, host="127.0.0.1", port=self.port, log_level="warning", lifespan="off"
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, daemon=True)
        self._thread.start()
        while not self._server.started:
            self._thread.join(0.01)
        return self

    def stop(self) -> None:
        self._server.should_exit = True
        self._server.force_exit = True
        self._thread.join(10)


def _flipped(data: bytes) -> bytes:
    middle = len(data) // 2
    return data[:middle] + bytes([data[middle] ^ 0xFF]) + data[middle + 1 :]


async def _stalling(content: bytes):  # type: ignore[no-untyped-def]
    yield content[: len(content) // 2]
    await asyncio.Event().wait()  # until the client gives up and disconnects
