"""Stale uploads: uploads in progress older than a limit, aborted in the store with their state.

An upload's age runs from the initiate time the broker recorded in its state (never the store's
clock, which replicas and stores do not share). An upload whose state has no such time (begun
by Score, or by an older broker) is given the time of the first cleanup that sees it, so it goes
one full period later.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

from score_broker.errors import BrokerError
from score_broker.services.upload_state import UploadState
from score_broker.services.uploads import UploadService

log = logging.getLogger(__name__)


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
                self.uploads.abort(upload.object_id, upload.upload_id)
            except BrokerError as error:
                log.warning(
                    "cannot remove upload %s of %s: %s", upload.upload_id, upload.object_id, error
                )
                continue
            removed.append(upload)
        return removed
