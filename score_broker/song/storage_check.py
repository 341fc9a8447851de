"""How the embedded Song checks objects at publish, exactly as Song checks Score (song-api 4).

Per object: `GET /upload/{id}` must be the bare text true, then the spec from
`GET /download/{id}?offset=0&length=-1&exclude-urls=true` must have `objectSize > 0` and an
`objectMd5` of 32 hex characters or null. In-process checking asks this broker's own services
the same questions; over HTTP, a Score server (or another broker) answers them.
"""

from __future__ import annotations

import re
import ssl
from typing import Any, Protocol, cast

import httpx

from score_broker.errors import BrokerError, NotFound
from score_broker.services.downloads import DownloadService
from score_broker.services.uploads import UploadService
from score_broker.song.errors import SongError

_MD5 = re.compile(r"^[a-fA-F0-9]{32}$")


class StorageCheck(Protocol):
    def exists(self, object_id: str) -> bool: ...

    def spec(self, object_id: str) -> dict[str, Any]: ...


def storage_error(text: str) -> SongError:
    return SongError("storage.service.error", 502, text, "StorageService")


def validated_spec(object_id: str, spec: Any) -> dict[str, Any]:
    """The spec if it meets Song's storageDownloadResponse schema."""
    ok = (
        isinstance(spec, dict)
        and isinstance(spec.get("objectId"), str)
        and isinstance(spec.get("objectSize"), int)
        and not isinstance(spec.get("objectSize"), bool)
        and spec["objectSize"] > 0
        and (spec.get("objectMd5") is None or bool(_MD5.match(str(spec.get("objectMd5")))))
    )
    if not ok:
        raise SongError(
            "invalid.storage.download.response",
            500,
            f"The storage download response for objectId '{object_id}' is not valid "
            "(objectSize must be > 0, objectMd5 32 hex characters or null)",
            "StorageService",
        )
    return cast(dict[str, Any], spec)


class InProcessCheck:
    """Asks this broker's own upload and download services."""

    def __init__(self, uploads: UploadService, downloads: DownloadService) -> None:
        self.uploads = uploads
        self.downloads = downloads

    def exists(self, object_id: str) -> bool:
        try:
            return self.uploads.is_finalized(object_id)
        except SongError:
            raise
        except BrokerError as error:
            raise storage_error(str(error)) from error

    def spec(self, object_id: str) -> dict[str, Any]:
        try:
            spec = self.downloads.spec(object_id, 0, -1, external=False, exclude_urls=True)
        except NotFound as error:
            raise SongError(
                "storage.object.not.found", 404, str(error), "StorageService"
            ) from error
        except SongError:
            raise
        except BrokerError as error:
            raise storage_error(str(error)) from error
        return validated_spec(object_id, spec.to_wire())


class HttpCheck:
    """Calls a Score server with Song's configured token."""

    def __init__(
        self,
        score_url: str,
        token: str,
        timeout: float = 30.0,
        verify: ssl.SSLContext | bool = True,
    ) -> None:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self._http = httpx.Client(
            base_url=score_url.rstrip("/"), headers=headers, timeout=timeout, verify=verify
        )

    def _get(self, path: str, **params: Any) -> httpx.Response:
        try:
            response = self._http.get(path, params=params)
        except httpx.HTTPError as error:
            raise storage_error(f"Cannot reach the storage server: {error}") from error
        if response.status_code != 200:
            raise storage_error(
                f"The storage server answered {path} with HTTP {response.status_code}"
            )
        return response

    def exists(self, object_id: str) -> bool:
        text = self._get(f"/upload/{object_id}").text
        if text.lower() not in ("true", "false"):
            raise storage_error(f"The storage server's answer for {object_id} is not true or false")
        return text.lower() == "true"

    def spec(self, object_id: str) -> dict[str, Any]:
        response = self._get(
            f"/download/{object_id}", offset=0, length=-1, **{"exclude-urls": "true"}
        )
        try:
            body = response.json()
        except ValueError:
            body = None
        return validated_spec(object_id, body)
