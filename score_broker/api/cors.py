"""CORS for web portals ([server] cors_origins), answered before routing and authorization.

Starlette's CORSMiddleware, except that a request from an origin not in the list gets no CORS
header at all (its preflight a plain 400), so nothing suggests what such a page may do.
"""

from __future__ import annotations

from collections.abc import Sequence

from starlette.datastructures import Headers, MutableHeaders
from starlette.middleware.cors import CORSMiddleware
from starlette.responses import PlainTextResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")
#: What portals, Score and Song clients send: bearer tokens, JSON bodies, ranged reads, the
#: local store's part uploads (Content-MD5) and score-client's X-SCORE-TOKEN on reads.
HEADERS = ("Authorization", "Content-Type", "Range", "X-Request-Id", "Content-MD5", "X-Score-Token")
EXPOSED = ("X-Request-Id", "Content-Range", "Content-Length", "ETag")
MAX_AGE = 600


class PortalCors(CORSMiddleware):
    """CORS for `origins` ("*" for any), never with credentials (tokens go in Authorization)."""

    def __init__(self, app: ASGIApp, origins: Sequence[str]) -> None:
        super().__init__(
            app,
            allow_origins=list(origins),
            allow_methods=METHODS,
            allow_headers=HEADERS,
            allow_credentials=False,
            expose_headers=EXPOSED,
            max_age=MAX_AGE,
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            headers = Headers(scope=scope)
            origin = headers.get("origin")
            if origin is not None and not self.is_allowed_origin(origin):
                await self._without_cors(scope, receive, send, headers)
                return
        await super().__call__(scope, receive, send)

    async def _without_cors(
        self, scope: Scope, receive: Receive, send: Send, headers: Headers
    ) -> None:
        if scope["method"] == "OPTIONS" and "access-control-request-method" in headers:
            refusal = PlainTextResponse(
                "This origin may not call the broker; add it to [server] cors_origins",
                status_code=400,
                headers={"Vary": "Origin"},
            )
            await refusal(scope, receive, send)
            return

        async def vary(message: Message) -> None:
            if message["type"] == "http.response.start":
                answer = MutableHeaders(scope=message)
                answer["Vary"] = ", ".join([*answer.getlist("Vary"), "Origin"])
            await send(message)

        await self.app(scope, receive, vary)
