"""The local store's data plane: part PUTs and ranged GETs at signed URLs, S3-style.

Errors are S3-shaped XML (`<Error><Code>..</Code><Message>..</Message></Error>`), since clients
of pre-signed URLs, score-client among them, read the code to decide whether to retry.
"""

from __future__ import annotations

import os
import re
from collections.abc import AsyncIterator
from xml.sax.saxutils import escape

import anyio
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from score_broker.checksums import parse_md5
from score_broker.errors import DataPlaneError, InvalidRequest
from score_broker.storage.local import LocalStore
from score_broker.storage.local_parts import PartWriter

WRITE_BATCH = 4 * 1024 * 1024
READ_CHUNK = 1024 * 1024
#: A single byte range; positions are ASCII digits, and no store holds 10**16 bytes.
_RANGE = re.compile(r"bytes=([0-9]{0,16})-([0-9]{0,16})")


def _xml_error(error: DataPlaneError) -> Response:
    body = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f"<Error><Code>{escape(error.code)}</Code><Message>{escape(error.message)}</Message></Error>"
    )
    return Response(body, status_code=error.status, media_type="application/xml")


def _store(request: Request) -> LocalStore:
    store = request.app.state.services.store
    assert isinstance(store, LocalStore)
    return store


def _content_md5(header: str | None) -> str | None:
    if header is None:
        return None
    digest = parse_md5(header, hex_ok=False)
    if digest is None:
        raise DataPlaneError(400, "InvalidDigest", "The Content-MD5 header is not a base64 MD5.")
    return digest


def _content_length(header: str | None, expected: int) -> int:
    if header is None:
        raise DataPlaneError(411, "MissingContentLength", "A part PUT needs a Content-Length.")
    if not re.fullmatch(r"[0-9]{1,16}", header):
        raise DataPlaneError(400, "InvalidArgument", "Content-Length is not a number.")
    length = int(header)
    if length != expected:
        raise DataPlaneError(
            400,
            "InvalidArgument",
            f"This part must be {expected} bytes, but Content-Length is {length}.",
        )
    return length


async def _receive(request: Request, writer: PartWriter, length: int) -> None:
    pending: list[bytes] = []
    pending_size = 0
    try:
        async for chunk in request.stream():
            pending.append(chunk)
            pending_size += len(chunk)
            if writer.written + pending_size > length:
                raise DataPlaneError(
                    400, "InvalidArgument", "The body is longer than Content-Length."
                )
            if pending_size >= WRITE_BATCH:
                await anyio.to_thread.run_sync(writer.write, pending)
                pending, pending_size = [], 0
    except ClientDisconnect:
        raise DataPlaneError(400, "IncompleteBody", "The client closed the connection.") from None
    if pending:
        await anyio.to_thread.run_sync(writer.write, pending)
    if writer.written != length:
        raise DataPlaneError(400, "IncompleteBody", f"Received {writer.written} of {length} bytes.")


async def put_part(request: Request) -> Response:
    store = _store(request)
    key = request.path_params["key"]
    try:
        signed = store.verify("PUT", key, request.query_params)
        assert signed.size is not None
        length = _content_length(request.headers.get("content-length"), signed.size)
        declared_md5 = _content_md5(request.headers.get("content-md5"))
        writer = store.part_writer(signed)
    except DataPlaneError as error:
        return _xml_error(error)
    try:
        await _receive(request, writer, length)
        if declared_md5 is not None and writer.hexdigest() != declared_md5:
            raise DataPlaneError(
                400, "BadDigest", "The Content-MD5 you specified did not match what we received."
            )
        etag = await anyio.to_thread.run_sync(writer.commit)
    except DataPlaneError as error:
        return _xml_error(error)
    except OSError as error:
        return _xml_error(
            DataPlaneError(503, "ServiceUnavailable", f"Cannot store the part: {error}")
        )
    finally:
        writer.discard()
    return Response(status_code=200, headers={"ETag": f'"{etag}"'})


def _requested_range(header: str | None, size: int) -> tuple[int, int] | None:
    if header is None:
        return None
    match = _RANGE.fullmatch(header.strip())
    if not match or match.groups() == ("", ""):
        raise DataPlaneError(
            416, "InvalidRange", f"Unsupported Range header {header[:40]!r}: use bytes=FIRST-LAST."
        )
    first_text, last_text = match.groups()
    if first_text == "":
        first, last = max(size - int(last_text), 0), size - 1
    else:
        first = int(first_text)
        last = min(int(last_text), size - 1) if last_text else size - 1
    if first >= size or first > last:
        raise DataPlaneError(416, "InvalidRange", "The requested range is not satisfiable.")
    return first, last


async def _file_chunks(path: str, first: int, count: int) -> AsyncIterator[bytes]:
    handle = await anyio.to_thread.run_sync(open, path, "rb")
    try:
        await anyio.to_thread.run_sync(handle.seek, first)
        while count > 0:
            chunk = await anyio.to_thread.run_sync(handle.read, min(READ_CHUNK, count))
            if not chunk:
                return
            count -= len(chunk)
            yield chunk
    finally:
        handle.close()


async def get_object(request: Request) -> Response:
    store = _store(request)
    key = request.path_params["key"]
    try:
        signed = store.verify(request.method, key, request.query_params)
        try:
            path = store.object_path(key)
            size = os.stat(path).st_size
        except (FileNotFoundError, InvalidRequest):
            raise DataPlaneError(404, "NoSuchKey", "The object does not exist.") from None
        requested = _requested_range(request.headers.get("range"), size)
        allowed = signed.byte_range
        if allowed is not None:
            wanted = requested or (allowed[0], min(allowed[1], size - 1))
            if wanted[0] < allowed[0] or wanted[1] > allowed[1]:
                raise DataPlaneError(403, "AccessDenied", "The range is outside this part's URL.")
            requested = _requested_range(f"bytes={wanted[0]}-{wanted[1]}", size)
    except DataPlaneError as error:
        return _xml_error(error)
    headers = {"Accept-Ranges": "bytes", "Content-Type": "application/octet-stream"}
    first, last = requested if requested else (0, size - 1)
    count = last - first + 1 if size else 0
    headers["Content-Length"] = str(count)
    status = 200
    if requested is not None:
        status = 206
        headers["Content-Range"] = f"bytes {first}-{last}/{size}"
    if request.method == "HEAD" or count == 0:
        return Response(status_code=status, headers=headers)
    return StreamingResponse(_file_chunks(str(path), first, count), status, headers=headers)


routes = [
    Route("/storage/{key:path}", put_part, methods=["PUT"]),
    Route("/storage/{key:path}", get_object, methods=["GET", "HEAD"]),
]
