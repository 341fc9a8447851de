"""Every request's id: a sane `X-Request-Id` from the caller (a proxy's) or a new one, answered
on the response and carried by every log record written while the request runs."""

from __future__ import annotations

import re
import uuid
from contextvars import ContextVar

from starlette.types import ASGIApp, Message, Receive, Scope, Send

HEADER = b"x-request-id"
#: What a caller's id may look like to be kept; anything else is replaced.
SANE = re.compile(r"[A-Za-z0-9._:-]{1,128}")

_current: ContextVar[str | None] = ContextVar("request_id", default=None)


def current_request_id() -> str | None:
    """The id of the request being served, or None outside a request."""
    return _current.get()


def request_id_for(scope: Scope) -> str:
    """The caller's `X-Request-Id` when sane, else a new uuid4 hex."""
    for name, value in scope["headers"]:
        if name.lower() == HEADER:
            supplied: str = value.decode("latin-1")
            if SANE.fullmatch(supplied):
                return supplied
            break
    return uuid.uuid4().hex


class RequestIdMiddleware:
    """Sets the request's id for its duration and adds `X-Request-Id` to its response."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = request_id_for(scope)
        header = (HEADER, request_id.encode("latin-1"))

        async def answer(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [(k, v) for k, v in message.get("headers", []) if k.lower() != HEADER]
                message["headers"] = [*headers, header]
            await send(message)

        token = _current.set(request_id)
        try:
            await self.app(scope, receive, answer)
        finally:
            _current.reset(token)
