"""`GET /metrics` (Prometheus's text format) and the middleware that counts every request.

A request is labelled with the template of the route that answered it (`/download/{object_id}`),
never its path, so ids never become label values; a path no route knows is `unmatched`.
"""

from __future__ import annotations

import hmac
import time

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from score_broker import metrics
from score_broker.api.errors import error_response
from score_broker.api.route_templates import RouteTemplates

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


class RequestMetricsMiddleware:
    """Counts each HTTP request by method, route template and status, and times it to the end
    of its answer (a streamed body included)."""

    def __init__(self, app: ASGIApp, templates: RouteTemplates) -> None:
        self.app = app
        self.templates = templates

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
                self.templates.of(scope),
                status,
                time.perf_counter() - started,
            )
