"""The Score REST API (contract sections 2 and 8): the calls score-client makes, async."""

from __future__ import annotations

from typing import Any

import httpx

from score_tui import __version__
from score_tui.client.backoff import Backoff
from score_tui.client.errors import (
    AccessRefused,
    ChecksumMismatch,
    TransferError,
    network_error,
    server_message,
    service_error,
)
from score_tui.client.models import ObjectSpec
from score_tui.client.retrying import retrying
from score_tui.client.service_http import ServiceHttp
from score_tui.client.tls import verify_for

USER_AGENT = f"score-tui/{__version__}"


def service_http(
    base_url: str, token: str | None, timeout: float, ca_file: str | None = None
) -> ServiceHttp:
    """Calls to a broker or Song: the bearer token (if any) and our User-Agent; HTTPS trusts
    the system's certificates and `ca_file`."""
    headers = {"User-Agent": USER_AGENT}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    return ServiceHttp(base_url, headers, timeout, ca_file)


class ScoreApi:
    """A Score server or broker at `server_url`; 503s and network failures are retried."""

    def __init__(
        self,
        server_url: str,
        token: str | None = None,
        *,
        timeout: float = 60.0,
        backoff: Backoff | None = None,
        ca_file: str | None = None,
    ) -> None:
        self.server_url = server_url.rstrip("/")
        self.backoff = backoff or Backoff(attempts=5)
        #: The extra CA file this client trusts; the transfers' data plane trusts it too.
        self.ca_file = ca_file
        self._http = service_http(self.server_url, token, timeout, ca_file)

    async def aclose(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> ScoreApi:
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.aclose()

    async def _call(
        self,
        what: str,
        method: str,
        path: str,
        params: dict[str, Any] | None = None,
        returned: tuple[int, ...] = (404,),
    ) -> httpx.Response:
        """One service call; statuses in `returned` go back to the caller, failures raise."""

        async def attempt() -> httpx.Response:
            try:
                response = await self._http.request(method, path, params=params)
            except httpx.HTTPError as exc:
                raise network_error(f"{what} at {self.server_url}", exc) from exc
            if response.status_code < 400 or response.status_code in returned:
                return response
            raise service_error(what, response)

        return await retrying(attempt, self.backoff)

    async def _json(
        self, what: str, method: str, path: str, params: dict[str, Any] | None = None
    ) -> Any:
        response = await self._call(what, method, path, params)
        if response.status_code == 404:
            raise service_error(what, response)
        try:
            return response.json()
        except ValueError:
            raise TransferError(f"{what}: the server did not answer with JSON") from None

    async def listing(self) -> list[dict[str, Any]]:
        """Every object the broker holds: `{"id", "lastModified", "size"}` (Score's /listing)."""
        body = await self._json("listing the objects", "GET", "/listing")
        return [item for item in body if isinstance(item, dict)] if isinstance(body, list) else []

    async def server_version(self) -> str:
        """The broker's version from `/actuator/info` (Spring Boot's `build.version`, as
        Score's); "unknown" when it does not answer one."""
        try:
            response = await self._http.request("GET", "/actuator/info")
            body = response.json() if response.status_code == 200 else {}
        except (httpx.HTTPError, ValueError):
            return "unknown"
        build = body.get("build") if isinstance(body, dict) else None
        version = build.get("version") if isinstance(build, dict) else None
        return str(version) if version else "unknown"

    async def profile(self) -> str:
        """The storage profile (`s3` or `az`); `s3` when the server does not say, as Score."""
        try:
            response = await self._http.request("GET", "/profile")
        except httpx.HTTPError:
            return "s3"
        return response.text.strip() if response.status_code == 200 else "s3"

    async def verify_connection(self) -> None:
        """Score's connection check: the sentinel URL from /download/ping must be readable."""
        response = await self._call("connection check", "GET", "/download/ping")
        if response.status_code == 404:
            raise service_error("connection check", response)
        url = response.text.strip()
        try:
            async with httpx.AsyncClient(timeout=5, verify=verify_for(url, self.ca_file)) as plain:
                probe = await plain.get(url, headers={"User-Agent": USER_AGENT})
        except httpx.HTTPError as exc:
            raise network_error("connection check: the object store", exc) from exc
        if probe.status_code == 403:
            raise AccessRefused(
                "connection check: the object store refused the broker's URL "
                f"({server_message(probe)}); ask the broker's admin to check its storage setup"
            )
        if probe.status_code >= 400:
            raise service_error("connection check: the object store", probe)

    async def exists(self, object_id: str) -> bool:
        response = await self._call(f"object {object_id}", "GET", f"/upload/{object_id}")
        if response.status_code == 404:
            raise service_error(f"object {object_id}", response)
        return response.text.strip() == "true"

    async def initiate(self, object_id: str, size: int, md5: str) -> ObjectSpec:
        params = {"fileSize": size, "overwrite": "true", "md5": md5}
        wire = await self._json(
            f"starting the upload of {object_id}", "POST", f"/upload/{object_id}/uploads", params
        )
        return ObjectSpec.from_wire(wire)

    async def upload_status(self, object_id: str, size: int) -> ObjectSpec | None:
        """The upload in progress with fresh part URLs, or None when there is none."""
        response = await self._call(
            f"status of the upload of {object_id}",
            "GET",
            f"/upload/{object_id}/status",
            {"fileSize": size},
        )
        if response.status_code == 404:
            return None
        return ObjectSpec.from_wire(response.json())

    async def finish_part(
        self, object_id: str, upload_id: str, number: int, md5: str, etag: str
    ) -> None:
        params = {"uploadId": upload_id, "partNumber": number, "md5": md5, "etag": etag}
        what = f"recording part {number} of {object_id}"
        response = await self._call(what, "POST", f"/upload/{object_id}/parts", params, (400, 404))
        if response.status_code == 400:
            # The store holds other bytes than were sent (or none): the part goes again.
            raise ChecksumMismatch(f"{what}: {server_message(response)}")
        if response.status_code == 404:
            raise service_error(what, response)

    async def finalize(self, object_id: str, upload_id: str) -> None:
        what = f"finalizing the upload of {object_id}"
        response = await self._call(what, "POST", f"/upload/{object_id}", {"uploadId": upload_id})
        if response.status_code == 404:
            raise service_error(what, response)

    async def download_spec(
        self, object_id: str, offset: int = 0, length: int = -1, external: bool = False
    ) -> ObjectSpec:
        params: dict[str, Any] = {"offset": offset, "length": length}
        if external:
            params["external"] = "true"
        wire = await self._json(f"download of {object_id}", "GET", f"/download/{object_id}", params)
        return ObjectSpec.from_wire(wire)
