"""GA4GH DRS 1.2.0: objects described and their pre-signed URLs, under Score's access rules.

A DRS object is a Score object whose analysis is PUBLISHED: unknown and unpublished objects are
not found, whoever asks. Otherwise the caller needs what `GET /download/{id}` needs (nothing for
an `open` file, a download scope of the study for a controlled one). Each object has a single
access method, whose `access_id` is the storage backend's name; the URL it resolves to is a
pre-signed GET of the whole object, which needs no headers.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from score_broker import __version__, metrics
from score_broker.auth.identity import Identity
from score_broker.errors import InvalidRequest, NotFound
from score_broker.metadata import Entity, Metadata
from score_broker.services.access import AccessControl
from score_broker.services.downloads import DownloadService

DRS_VERSION = "1.2.0"


def rfc3339(moment: datetime) -> str:
    """A timestamp as RFC 3339 in UTC, to the second: `2026-01-02T03:04:05Z`."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True, slots=True)
class DrsService:
    """Answers DRS's three questions: who serves, what an object is, where its bytes are."""

    public_url: str
    backend: str
    access: AccessControl
    metadata: Metadata | None
    downloads: DownloadService

    @property
    def _host(self) -> str:
        return urlsplit(self.public_url).netloc

    def service_info(self) -> dict[str, Any]:
        """The GA4GH service-info of the DRS API."""
        host = urlsplit(self.public_url).hostname or "localhost"
        return {
            "id": ".".join(reversed(host.split("."))) + ".drs",
            "name": "score-broker DRS",
            "type": {"group": "org.ga4gh", "artifact": "drs", "version": DRS_VERSION},
            "description": "Score objects of PUBLISHED analyses, with pre-signed URLs.",
            "organization": {"name": "score-broker", "url": self.public_url},
            "version": __version__,
        }

    def _entity(self, identity: Identity | None, object_id: str) -> Entity | None:
        """The object's entity (None without Song) if it is a DRS object the caller may read:
        NotFound unless it is known and PUBLISHED; then Score's download rules."""
        try:
            entity = self.access.published_entity(object_id)
        except InvalidRequest as error:
            raise NotFound(f"There is no DRS object {object_id[:80]!r}: {error}") from None
        self.access.check_reader(identity, object_id, entity)
        return entity

    def drs_object(self, identity: Identity | None, object_id: str) -> dict[str, Any]:
        """The DrsObject of a single blob: size, creation time, MD5, name, one access method."""
        entity = self._entity(identity, object_id)
        spec = self.downloads.stored_spec(object_id)
        head = self.downloads.store.head(spec.object_key)
        if head is None:
            raise NotFound(f"Object {object_id} does not exist in the store.")
        name: str | None = None
        md5 = spec.object_md5 or head.md5
        if entity is not None and self.metadata is not None:
            name = entity.file_name or None
            record = self.metadata.file_record(entity.project_code, object_id)
            md5 = (record.md5 if record is not None else None) or md5
        if md5 is None:
            raise NotFound(f"Object {object_id} has no recorded MD5, which DRS requires.")
        scheme = "https" if self.public_url.startswith("https:") else "http"
        drs: dict[str, Any] = {
            "id": object_id,
            "self_uri": f"drs://{self._host}/{object_id}",
            "size": head.size,
            "created_time": rfc3339(head.modified or datetime.now(UTC)),
            "checksums": [{"type": "md5", "checksum": md5}],
            "access_methods": [{"type": scheme, "access_id": self.backend}],
        }
        if name:
            drs["name"] = name
        return drs

    def access_url(
        self, identity: Identity | None, object_id: str, access_id: str
    ) -> dict[str, Any]:
        """A pre-signed GET URL of the whole object, for the object's one access id."""
        self._entity(identity, object_id)
        if access_id != self.backend:
            raise NotFound(
                f"Object {object_id} has no access id {access_id[:80]!r}; "
                f"its only one is {self.backend!r}."
            )
        spec = self.downloads.stored_spec(object_id)
        store, lifetime = self.downloads.store, self.downloads.url_lifetime
        url = store.sign_get(spec.object_key, lifetime(), None)
        metrics.signed("download_object")
        return {"url": url}
