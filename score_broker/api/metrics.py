"""`GET /metrics` (Prometheus's text format) and the middleware that counts every request.

A request is labelled with the template of the route that answered it (`/download/{object_id}`),
never its path, so ids never become label values; a path no route knows is `<unmatched>`.
"""

from __future__ import annotations

import hmac
import time

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST
from starlette.routing import BaseRoute, Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from score_broker import metrics
from score_broker.api.errors import error_response

router = APIRouter(tags=["service"])


@router.get("/metrics", summary="The broker's metrics, in Prometheus's text format")
def scrape(request: Request) -> Response:
    """Open to all unless `[server] metrics_token` is set: then only `Bearer <that token>`."""
    expected = request.app.state.settings.server.metrics_token
    if expected:
        given = request.headers.get("authorization", "")
        if not hmac.compare_digest(given.encode(), f"Bearer {expected}".encode()):
            refusal: JSONResponse = error_response(
                request, 401, "Send 'Authorization: Bearer <[server] metrics_token>' for metrics."
            )
            refusal.headers["WWW-Authenticate"] = 'Bearer realm="metrics"'
            return refusal
    return Response(metrics.exposition(), media_type=CONTENT_TYPE_LATEST)


def templates_of(routes: list[BaseRoute]) -> list[tuple[BaseRoute, str]]:
    """Each route with its path template (an included router is given by its own routes)."""
    return [
        (route, path) for route in routes if isinstance(path := getattr(route, "path", None), str)
    ]


def route_template(templates: list[tuple[BaseRoute, str]], scope: Scope) -> str:
    """The path template of the route for this request: the one that matches it, else one
    whose path matches with another method (a 405), else `<unmatched>`. A trailing slash is
    ignored, as the broker ignores it."""
    path = scope.get("path", "")
    candidates = [{**scope}]
    if len(path) > 1 and path.endswith("/"):
        candidates.append({**scope, "path": path.rstrip("/")})
    for candidate in candidates:
        partial = None
        for route, template in templates:
            match, _ = route.matches(candidate)
            if match is Match.FULL:
                return template
            if match is Match.PARTIAL and partial is None:
                partial = template
        if partial is not None:
            return partial
    return metrics.UNMATCHED


class RequestMetricsMiddleware:
    """Counts each HTTP request by method, route template and status, and times it to the end
    of its answer (a streamed body included)."""

    def __init__(self, app: ASGIApp, routes: list[BaseRoute]) -> None:
        self.app = app
        self.templates = templates_of(routes)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def observe(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, observe)
        finally:
            metrics.request_answered(
                scope["method"],
                route_template(self.templates, scope),
                status,
                time.perf_counter() - started,
            )
