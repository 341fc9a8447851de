"""`GET /metrics`: the broker's metrics in Prometheus's text format (each request is counted by
`score_broker.api.access_log.RequestRecordMiddleware`)."""

from __future__ import annotations

import hmac

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST

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
