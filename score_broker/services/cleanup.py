"""Stale uploads: uploads in progress older than a limit, aborted in the store with their state.

An upload's age runs from the initiate time the broker recorded in its state (never the store's
clock, which replicas and stores do not share). An upload whose state has no such time (begun
by Score, or by an older broker) is given the time of the first cleanup that sees it, so it goes
one full period later.
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from dataclasses import dataclass

from score_broker.errors import BrokerError
from score_broker.services.upload_state import UploadState
from score_broker.services.uploads import UploadService

log = logging.getLogger(__name__)
#: The state object a replica holds while it cleans up, so that replicas take turns.
LEASE_KEY = "cleanup.lease"


@dataclass(frozen=True, slots=True)
class StaleUpload:
    object_id: str
    upload_id: str
    #: Seconds since the upload was initiated.
    age: float


class Cleanup:
    """Finds and aborts stale uploads on any backend."""

    def __init__(self, uploads: UploadService, state: UploadState) -> None:
        self.uploads = uploads
        self.state = state

    def stale(self, older_than: float, now: float | None = None) -> list[StaleUpload]:
        """Uploads in progress initiated more than `older_than` seconds ago."""
        now = time.time() if now is None else now
        found = []
        for object_id, upload_id in self.state.uploads_in_progress():
            spec = self.state.load_spec(object_id, upload_id)
            if spec is None:
                continue  # markers without a spec: the upload is ending, or not ours
            if spec.initiated is None:
                spec.initiated = now  # begun by Score or an older broker: from now on
                self.state.save_spec(spec)
            age = now - spec.initiated
            if age > older_than:
                found.append(StaleUpload(object_id, upload_id, age))
        return found

    def remove(self, stale: list[StaleUpload]) -> list[StaleUpload]:
        """Abort each upload and drop its state; returns those removed (failures are logged and
        left for the next cleanup)."""
        removed = []
        for upload in stale:
            try:
                self.uploads.abort(upload.object_id, upload.upload_id, "stale")
            except BrokerError as error:
                log.warning(
                    "cannot remove upload %s of %s: %s", upload.upload_id, upload.object_id, error
                )
                continue
            removed.append(upload)
        return removed


class Lease:
    """Who cleans up now, in a state object every replica reads: `{"holder", "until"}`.

    A replica takes the lease when no one else holds it unexpired, writes itself in, and reads
    it back: of two replicas writing at once, only the one whose write landed last goes on."""

    def __init__(self, state: UploadState, holder: str | None = None) -> None:
        self.store = state.store
        self.holder = holder or uuid.uuid4().hex

    def _current(self) -> tuple[str, float] | None:
        try:
            lease = json.loads(self.store.get_state(LEASE_KEY) or b"null")
            return str(lease["holder"]), float(lease["until"])
        except (ValueError, TypeError, KeyError):
            return None

    def take(self, seconds: float, now: float | None = None) -> bool:
        now = time.time() if now is None else now
        current = self._current()
        if current is not None and current[0] != self.holder and current[1] > now:
            return False
        lease = {"holder": self.holder, "until": now + seconds}
        self.store.put_state(LEASE_KEY, json.dumps(lease).encode())
        current = self._current()
        return current is not None and current[0] == self.holder


def clean_once(cleanup: Cleanup, lease: Lease, older_than: float, hold: float) -> int | None:
    """One cleanup if this replica gets the lease (held for `hold` seconds); how many uploads it
    removed, None if another replica holds the lease."""
    if not lease.take(hold):
        return None
    removed = cleanup.remove(cleanup.stale(older_than))
    for upload in removed:
        log.info(
            "cleanup: removed upload %s of %s (initiated %.0f s ago)",
            upload.upload_id,
            upload.object_id,
            upload.age,
        )
    return len(removed)
