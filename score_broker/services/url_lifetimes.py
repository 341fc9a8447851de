"""How long a pre-signed URL lives, for the client asking.

score-tui asks for fresh URLs whenever the ones it holds are about to expire, so it gets short
ones ([storage] upload_url_expiry, download_url_expiry). The Java score-client signs a whole
transfer at its start and never asks again: a multi-hour transfer outlives short URLs. For the
clients that do not say they are score-tui, `[storage] score_client_upload_url_expiry` and
`score_client_download_url_expiry` (Score's own are 6 days and 1 day) apply when set.
"""

from __future__ import annotations

from contextvars import ContextVar, Token
from dataclasses import dataclass

#: Whether the client of the request being served asks for fresh URLs by itself.
_REFRESHES: ContextVar[bool] = ContextVar("client_refreshes_urls", default=True)


@dataclass(frozen=True, slots=True)
class UrlLifetime:
    """Seconds a URL lives: `seconds`, or `without_refresh` (when set) for clients that do not
    ask for fresh URLs."""

    seconds: int
    without_refresh: int = 0

    def __call__(self) -> int:
        if self.without_refresh and not _REFRESHES.get():
            return self.without_refresh
        return self.seconds


def client_refreshes(refreshes: bool) -> Token[bool]:
    """Note, for the request being served, whether its client asks for fresh URLs by itself;
    `client_done` with the token afterwards."""
    return _REFRESHES.set(refreshes)


def client_done(token: Token[bool]) -> None:
    _REFRESHES.reset(token)
