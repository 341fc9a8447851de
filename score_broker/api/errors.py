"""Turning errors into Score's status codes, with a one-line reason and never a stack trace.

Bodies are shaped like Spring Boot's error JSON that Score sends (`timestamp`, `status`,
`error`, `path`), plus the `message` Score leaves out, so people can see what went wrong.
Under /song they are Song's, and under /ga4gh/drs/v1 DRS's `{"msg", "status_code"}`.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from score_broker.api.drs import PREFIX as DRS_PREFIX
from score_broker.errors import (
    BrokerError,
    Forbidden,
    Unauthorized,
)
from score_broker.song.errors import SongError
from score_broker.song.wire import wire_json

log = logging.getLogger(__name__)


class SongJSONResponse(JSONResponse):
    """Song's JSON answers and errors, written even when a stored value is not valid Unicode."""

    def render(self, content: Any) -> bytes:
        return wire_json(content)


#: Song errorIds for HTTP-level refusals; Song itself has none for an oversized body.
SONG_ERROR_IDS = {413: "payload.too.large"}


def error_response(request: Request, status: int, message: str) -> JSONResponse:
    body = {
        "timestamp": datetime.now(UTC).isoformat(timespec="milliseconds"),
        "status": status,
        "error": HTTPStatus(status).phrase,
        "message": message,
        "path": request.url.path,
    }
    return JSONResponse(body, status_code=status)


def _describe_validation(error: RequestValidationError) -> str:
    first = error.errors()[0]
    location = first.get("loc", ())
    name = str(location[-1]) if location else "parameter"
    kind = "query parameter" if location and location[0] == "query" else str(location[0])
    if first.get("type") == "missing":
        return f"Required {kind} '{name}' is missing."
    expected = {"int_parsing": "an integer", "bool_parsing": "true or false"}
    return f"The {kind} '{name}' must be {expected.get(first.get('type', ''), 'valid')}."


def _is_song(request: Request) -> bool:
    return request.url.path == "/song" or request.url.path.startswith("/song/")


def _is_drs(request: Request) -> bool:
    path = request.url.path
    return path == DRS_PREFIX or path.startswith(DRS_PREFIX + "/")


def drs_error(status: int, message: str) -> JSONResponse:
    """DRS's error body."""
    return JSONResponse({"msg": message, "status_code": status}, status_code=status)


def _song_response(request: Request, error: SongError) -> JSONResponse:
    return SongJSONResponse(error.body(str(request.url)), status_code=error.status)


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(SongError)
    async def song_error(request: Request, error: SongError) -> JSONResponse:
        return _song_response(request, error)

    @app.exception_handler(Unauthorized)
    async def unauthorized(request: Request, error: Unauthorized) -> Response:
        if _is_drs(request):
            response = drs_error(401, str(error))
        else:
            response = error_response(request, 401, str(error))
        response.headers["WWW-Authenticate"] = 'Bearer error="invalid_token"'
        return response

    @app.exception_handler(Forbidden)
    async def forbidden(request: Request, error: Forbidden) -> Response:
        if _is_drs(request):
            return drs_error(403, str(error))
        return PlainTextResponse(str(error), status_code=403)

    @app.exception_handler(BrokerError)
    async def broker_error(request: Request, error: BrokerError) -> JSONResponse:
        status = error.status
        if status >= 500:
            log.warning("%s %s: %s", request.method, request.url.path, error)
        if _is_song(request):
            error_id = "malformed.parameter" if status == 400 else "unknown.error"
            return _song_response(request, SongError(error_id, status, str(error)))
        if _is_drs(request):
            return drs_error(status, str(error))
        return error_response(request, status, str(error))

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, error: RequestValidationError) -> JSONResponse:
        if _is_song(request):
            song = SongError("malformed.parameter", 400, _describe_validation(error))
            return _song_response(request, song)
        if _is_drs(request):
            return drs_error(400, _describe_validation(error))
        return error_response(request, 400, _describe_validation(error))

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, error: StarletteHTTPException) -> JSONResponse:
        return http_error_response(request, error)


def http_error_response(request: Request, error: StarletteHTTPException) -> JSONResponse:
    """An HTTP-level refusal, in Song's shape under /song, DRS's under /ga4gh/drs/v1 and
    Score's elsewhere."""
    if _is_song(request):
        error_id = SONG_ERROR_IDS.get(error.status_code, "unknown.error")
        return _song_response(request, SongError(error_id, error.status_code, str(error.detail)))
    if _is_drs(request):
        return drs_error(error.status_code, str(error.detail))
    return error_response(request, error.status_code, str(error.detail))


class CatchAllMiddleware:
    """Answers any unexpected error with a one-line 500 (never a stack trace), logged once."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def watch(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, watch)
        except Exception:
            request = Request(scope)
            log.exception("unexpected error in %s %s", request.method, request.url.path)
            if started:
                return
            if _is_song(request):
                song = SongError(
                    "unknown.error", 500, "Internal error; the broker's log has details"
                )
                response: Response = _song_response(request, song)
            elif _is_drs(request):
                response = drs_error(500, "Internal error in the broker; its log has the details.")
            else:
                response = error_response(
                    request, 500, "Internal error in the broker; its log has the details."
                )
            await response(scope, receive, send)
