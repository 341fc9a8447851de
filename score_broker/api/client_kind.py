"""Which kind of client a request comes from, for how long its URLs should live."""

from __future__ import annotations

from starlette.types import ASGIApp, Receive, Scope, Send

from score_broker.services.url_lifetimes import client_done, client_refreshes

#: score-tui's User-Agent starts so; it asks for fresh URLs by itself.
REFRESHING_AGENT = b"score-tui/"


class ClientKindMiddleware:
    """Notes, for the request's duration, whether its client refreshes URLs (its User-Agent)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        agent = next((v for k, v in scope["headers"] if k == b"user-agent"), b"")
        token = client_refreshes(agent.startswith(REFRESHING_AGENT))
        try:
            await self.app(scope, receive, send)
        finally:
            client_done(token)
