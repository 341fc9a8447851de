"""A cap on request bodies ([limits] max_body_bytes): no JSON body is read beyond it.

A declared Content-Length over the cap is refused (413) before the body is read; a body without
one (chunked) is counted as it streams and cut off at the cap. The local store's data plane
(`/storage/...`) takes part bodies of any size and is not capped.
"""

from __future__ import annotations

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from score_broker.api.errors import http_error_response

UNCAPPED_PREFIX = "/storage/"


class BodyTooLarge(HTTPException):
    """The request body is over [limits] max_body_bytes (413)."""

    def __init__(self, max_bytes: int) -> None:
        super().__init__(
            413,
            f"The request body is larger than {max_bytes:,} bytes ([limits] max_body_bytes); "
            "send less, for example several smaller submissions",
        )


def _declared_length(scope: Scope) -> int | None:
    for name, value in scope["headers"]:
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


class BodyLimitMiddleware:
    """Refuses bodies over `max_bytes`, declared or streamed, outside the data plane."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith(UNCAPPED_PREFIX):
            await self.app(scope, receive, send)
            return
        declared = _declared_length(scope)
        if declared is not None and declared > self.max_bytes:
            response = http_error_response(Request(scope), BodyTooLarge(self.max_bytes))
            await response(scope, receive, send)
            return
        received = 0

        async def counted() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise BodyTooLarge(self.max_bytes)
            return message

        await self.app(scope, counted, send)
