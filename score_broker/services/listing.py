"""Score's `/listing`: every object in the store, with its size and last change, cached."""

from __future__ import annotations

import re
import threading
import time
from typing import Any

from score_broker.storage.base import ObjectStore

_OBJECT_ID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", re.I)


class ListingService:
    """`{"id", "lastModified", "size"}` of each object whose name is an object id (only those
    are Score's objects), read page by page through the store and kept `cache_seconds`."""

    def __init__(self, store: ObjectStore, data_prefix: str, cache_seconds: int) -> None:
        self.store = store
        self.data_prefix = data_prefix
        self.cache_seconds = cache_seconds
        self._cached: tuple[float, list[dict[str, Any]]] | None = None
        self._lock = threading.Lock()

    def listing(self) -> list[dict[str, Any]]:
        with self._lock:
            if self._cached is not None and self._cached[0] > time.monotonic():
                return self._cached[1]
            found = [
                {"id": name, "lastModified": stored.last_modified, "size": stored.size}
                for stored in self.store.list_objects(self.data_prefix)
                if _OBJECT_ID.fullmatch(name := stored.key.rsplit("/", 1)[-1])
            ]
            self._cached = (time.monotonic() + self.cache_seconds, found)
            return found
