"""One access-log line per request, with any bearer token replaced by a short hash, and the
request metrics."""

from __future__ import annotations

import hashlib
import logging
import re
import time
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from score_broker import metrics
from score_broker.api.route_templates import RouteTemplates
from score_broker.request_id import current_request_id

log = logging.getLogger("score_broker.access")
_SIGNATURE = re.compile(r"((?:^|&)(?:X-Amz-Signature|Signature|sig)=)[^&]*", re.IGNORECASE)
_UNPRINTABLE = re.compile(r'[\x00-\x1f\x7f"\\]')


def token_hash(authorization: str) -> str:
    """A short, stable hash of a bearer token, safe to log."""
    token = authorization[7:] if authorization[:7].lower() == "bearer " else authorization
    return hashlib.sha256(token.strip().encode()).hexdigest()[:12]


def redact_query(query: str) -> str:
    """The query string with URL signatures masked."""
    return _SIGNATURE.sub(r"\1***", query)


def printable(text: str) -> str:
    """`text` safe inside one quoted text log line: control characters, quotes and backslashes
    escaped, so a percent-encoded newline in a path cannot forge a second line."""
    return _UNPRINTABLE.sub(lambda match: f"\\x{ord(match.group()):02x}", text)


class RequestRecordMiddleware:
    """Records each HTTP request once it is answered: its access-log line (`log_access`) and
    its count and duration in the metrics (`count`). Pure ASGI middleware, so streamed bodies
    are not buffered and the duration runs to the end of the answer."""

    def __init__(
        self, app: ASGIApp, templates: RouteTemplates, log_access: bool, count: bool
    ) -> None:
        self.app = app
        self.templates = templates
        self.log_access = log_access
        self.count = count

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        facts: dict[str, Any] = {"status": 500, "bytes": 0}
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        query = scope.get("query_string", b"").decode("latin-1")
        target = scope["path"] + (f"?{redact_query(query)}" if query else "")

        async def observe(message: Message) -> None:
            if message["type"] == "http.response.start":
                facts["status"] = message["status"]
            elif message["type"] == "http.response.body":
                facts["bytes"] += len(message.get("body", b""))
            await send(message)

        try:
            await self.app(scope, receive, observe)
        finally:
            duration = time.perf_counter() - started
            route = self.templates.of(scope)
            if self.count:
                metrics.request_answered(scope["method"], route, facts["status"], duration)
            if self.log_access:
                _log(scope, headers, target, route, facts, duration * 1000)


def _log(
    scope: Scope,
    headers: dict[str, str],
    target: str,
    route: str,
    facts: dict[str, Any],
    duration: float,
) -> None:
    """The access-log line (with its fields for the JSON format); `duration` in ms."""
    # uvicorn puts a trusted proxy's X-Forwarded-For here ([server] trusted_proxies).
    client = (scope.get("client") or (None,))[0]
    authorization = headers.get("authorization")
    token = token_hash(authorization) if authorization else None
    agent = headers.get("user-agent")
    request_id = current_request_id()
    fields = {
        "request_id": request_id,
        "method": scope["method"],
        "path": target,
        "route": route,
        "status": facts["status"],
        "duration_ms": round(duration, 1),
        "bytes": facts["bytes"],
        "client": client,
        "user_agent": agent,
        "token": token,
    }
    log.info(
        '%s "%s %s" %d %d %.1fms ua="%s" token=%s rid=%s',
        client or "-",
        scope["method"],
        printable(target),
        facts["status"],
        facts["bytes"],
        duration,
        printable(agent or "unknown"),
        token or "-",
        request_id or "-",
        extra={"access": fields},
    )
