"""Access to the services the application was built with."""

from __future__ import annotations

from typing import TYPE_CHECKING

from fastapi import Request

if TYPE_CHECKING:
    from score_broker.services import Services


def services(request: Request) -> Services:
    return request.app.state.services  # type: ignore[no-any-return]
