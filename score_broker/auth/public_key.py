"""A PEM public key served at a URL (Ego's `/oauth/token/public_key`), fetched at start and
again after a failed verification, at most once a minute."""

from __future__ import annotations

import logging
import threading
import time

import httpx

log = logging.getLogger(__name__)
#: The least time between two fetches once a key is held.
REFRESH_INTERVAL = 60.0


class PublicKeyUrl:
    """The key text, fetched when needed; None while it cannot be fetched."""

    def __init__(self, url: str, timeout: float = 10.0) -> None:
        self.url = url
        self._http = httpx.Client(timeout=timeout)
        self._key: bytes | None = None
        self._fetched = -REFRESH_INTERVAL
        self._lock = threading.Lock()
        self.refresh()

    @property
    def key(self) -> bytes | None:
        with self._lock:
            key = self._key
        return key if key is not None else self.refresh()

    def refresh(self) -> bytes | None:
        """Fetch the key again unless it was fetched in the last REFRESH_INTERVAL (a key not
        yet held is always tried); returns the key held afterwards."""
        with self._lock:
            if self._key is not None and time.monotonic() - self._fetched < REFRESH_INTERVAL:
                return self._key
            self._fetched = time.monotonic()
            try:
                response = self._http.get(self.url)
                text = response.text.strip() if response.status_code == 200 else ""
            except httpx.HTTPError as error:
                log.warning("cannot fetch the JWT public key at %s: %s", self.url, error)
                return self._key
            if "BEGIN PUBLIC KEY" not in text:
                log.warning(
                    "%s answered HTTP %s, not a PEM public key", self.url, response.status_code
                )
                return self._key
            self._key = text.encode()
            return self._key
