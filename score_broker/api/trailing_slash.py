"""Paths with a trailing slash answered as the same path without it, as Spring (Score) does.

Starlette would redirect instead, to an absolute URL built from the request's Host header:
whoever controls that header (a cache, a crafted link) could send a client anywhere.
"""

from __future__ import annotations

from starlette.routing import BaseRoute, Match
from starlette.types import ASGIApp, Receive, Scope, Send


class TrailingSlashMiddleware:
    """Rewrites `/a/b/` to `/a/b` when no route matches the path with its slash."""

    def __init__(self, app: ASGIApp, routes: list[BaseRoute]) -> None:
        self.app = app
        self.routes = routes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if (
            scope["type"] == "http"
            and len(path) > 1
            and path.endswith("/")
            and all(route.matches(scope)[0] is Match.NONE for route in self.routes)
        ):
            scope = {**scope, "path": path.rstrip("/") or "/"}
        await self.app(scope, receive, send)
