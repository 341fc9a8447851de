"""Download specs (contract 3.3) and the sentinel ping (contract 2.3)."""

from __future__ import annotations

from score_broker import metrics
from score_broker.errors import InvalidRequest, NotFound
from score_broker.services import validation
from score_broker.services.models import ObjectSpecification, Part
from score_broker.services.planner import PartPlanner
from score_broker.services.upload_state import UploadState
from score_broker.services.url_lifetimes import UrlLifetime

PING_URL_EXPIRY = 300


class DownloadService:
    """Builds download specs with pre-signed GET URLs, from final specs or the stored object."""

    def __init__(
        self,
        state: UploadState,
        planner: PartPlanner,
        url_lifetime: UrlLifetime,
        sentinel: str,
    ) -> None:
        self.state = state
        self.store = state.store
        self.planner = planner
        self.url_lifetime = url_lifetime
        self.sentinel_key = state.object_key(sentinel)

    def ensure_sentinel(self) -> None:
        """Create the empty sentinel object that ping URLs point at, if it is missing."""
        if self.store.head(self.sentinel_key) is None:
            self.store.put_object(self.sentinel_key, b"")

    def ping_url(self) -> str:
        """A short-lived GET URL of the sentinel: proves the client can reach the store."""
        self.store.check_for_ping()
        url = self.store.sign_get(self.sentinel_key, PING_URL_EXPIRY, None)
        metrics.signed("ping")
        return url

    def stored_spec(self, object_id: str) -> ObjectSpecification:
        """The whole object's spec, without URLs: the final one of its upload, or one made from
        the stored object; NotFound if the store does not have it."""
        final = self.state.load_final(object_id)
        if final is not None:
            return final
        key = self.state.object_key(object_id)
        head = self.store.head(key)
        if head is None:
            raise NotFound(f"Object {object_id} does not exist in the store.")
        # An object placed in the store without going through the broker.
        parts = [
            Part(part_number=p.number, part_size=p.size, offset=p.offset)
            for p in self.planner.divide(0, head.size)
        ]
        return ObjectSpecification(key, object_id, object_id, parts, head.size, head.md5)

    def spec(
        self, object_id: str, offset: int, length: int, external: bool, exclude_urls: bool
    ) -> ObjectSpecification:
        """The download spec for `length` bytes (-1: to the end) from `offset`."""
        validation.object_id(object_id)
        if offset < 0:
            raise InvalidRequest(f"offset must be 0 or more, not {offset}.")
        if length < -1:
            raise InvalidRequest(f"length must be -1 (to the end) or 0 or more, not {length}.")
        spec = self.stored_spec(object_id)
        if external:
            spec.parts = [Part(part_number=1, part_size=-1, offset=0)]
            spec.object_size = length
            if not exclude_urls:
                spec.parts[0].url = self.store.sign_get(spec.object_key, self.url_lifetime(), None)
                metrics.signed("download_object")
            return spec
        whole = offset == 0 and length == -1
        if not whole:
            size = spec.object_size
            if offset > size:
                raise InvalidRequest(
                    f"offset {offset} is beyond the end of the object ({size} bytes)."
                )
            if length == -1:
                length = size - offset
            if offset + length > size:
                raise InvalidRequest(
                    f"offset + length ({offset} + {length}) is beyond the end of the object "
                    f"({size} bytes)."
                )
            spec.parts = [
                Part(part_number=p.number, part_size=p.size, offset=p.offset)
                for p in self.planner.divide(offset, length)
            ]
            spec.object_size = length
        expiry = self.url_lifetime()
        for part in spec.parts:
            part.md5 = None
            part.url = None
            if not exclude_urls:
                last = part.offset + part.part_size - 1
                part.url = self.store.sign_get(spec.object_key, expiry, (part.offset, last))
        if not exclude_urls:
            metrics.signed("download_part", len(spec.parts))
        return spec
