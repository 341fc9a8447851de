"""Upload state kept in the object store, with Score's key layout (contract section 4.3).

  <upload>/<objectId>_<uploadId>/.meta                  the spec returned by initiate
  <upload>/<objectId>_<uploadId>/part-%08x|<JSON>       zero-byte marker of a finished part
  <data>/<objectId>.meta                                the final spec, written at finalize

Because nothing lives in the broker process, a restarted broker or another replica continues
any upload in progress.
"""

from __future__ import annotations

from dataclasses import dataclass

from score_broker.errors import InvalidRequest
from score_broker.services.models import CompletedPart, ObjectSpecification
from score_broker.storage.base import ObjectStore

MARKER_SEPARATOR = "|"


@dataclass(frozen=True, slots=True)
class UploadRecord:
    """What one listing of an upload attempt shows: its spec, its finished parts, every key."""

    has_spec: bool
    parts: dict[int, CompletedPart]
    keys: list[str]


def _parsed(key: str, data: bytes | None) -> ObjectSpecification | None:
    if data is None:
        return None
    try:
        return ObjectSpecification.from_json(data)
    except (ValueError, KeyError, TypeError) as error:
        raise InvalidRequest(
            f"The stored spec {key} is unreadable ({type(error).__name__}); "
            "cancel the upload and start again, or ask the administrator to check the store."
        ) from error


class UploadState:
    """Reads and writes upload specs, part markers and final specs in a store."""

    def __init__(self, store: ObjectStore, data_directory: str, upload_directory: str) -> None:
        self.store = store
        self._data = f"{data_directory.strip('/')}/" if data_directory.strip("/") else ""
        self._upload = f"{upload_directory.strip('/')}/" if upload_directory.strip("/") else ""

    def object_key(self, object_id: str) -> str:
        """The data object's key: `data/<objectId>`."""
        return f"{self._data}{object_id}"

    def _final_key(self, object_id: str) -> str:
        return f"{self._data}{object_id}.meta"

    def _upload_prefix(self, object_id: str, upload_id: str) -> str:
        return f"{self._upload}{object_id}_{upload_id}/"

    def upload_ids(self, object_id: str) -> list[str]:
        """Upload ids of every upload attempt of the object that still has state."""
        lead = f"{self._upload}{object_id}_"
        listing = self.store.list_state(lead, delimiter="/")
        return [prefix[len(lead) : -1] for prefix in listing.prefixes]

    def current_upload_id(self, object_id: str) -> str | None:
        """The first upload attempt whose spec exists, as Score picks it."""
        for upload_id in self.upload_ids(object_id):
            if self.store.state_exists(self._upload_prefix(object_id, upload_id) + ".meta"):
                return upload_id
        return None

    def save_spec(self, spec: ObjectSpecification) -> None:
        key = self._upload_prefix(spec.object_id, spec.upload_id) + ".meta"
        self.store.put_state(key, spec.to_json())

    def load_spec(self, object_id: str, upload_id: str) -> ObjectSpecification | None:
        key = self._upload_prefix(object_id, upload_id) + ".meta"
        return _parsed(key, self.store.get_state(key))

    def record(self, object_id: str, upload_id: str) -> UploadRecord:
        """Everything stored for an upload attempt, in one listing."""
        prefix = self._upload_prefix(object_id, upload_id)
        keys = self.store.list_state(prefix).keys
        parts: dict[int, CompletedPart] = {}
        for key in keys:
            if key.startswith(prefix + "part-"):
                _, _, text = key.partition(MARKER_SEPARATOR)
                part = CompletedPart.from_json(text)
                parts[part.part_number] = part  # the last marker wins if there are two
        return UploadRecord(prefix + ".meta" in keys, parts, keys)

    def mark_part(self, object_id: str, upload_id: str, part: CompletedPart) -> None:
        """Record a finished part, replacing any marker it had."""
        prefix = self._upload_prefix(object_id, upload_id)
        marker = f"{prefix}part-{part.part_number:08x}{MARKER_SEPARATOR}{part.to_json()}"
        self.unmark_part(object_id, upload_id, part.part_number, keep=marker)
        self.store.put_state(marker, b"")

    def unmark_part(
        self,
        object_id: str,
        upload_id: str,
        part_number: int,
        known: UploadRecord | None = None,
        keep: str | None = None,
    ) -> None:
        lead = f"{self._upload_prefix(object_id, upload_id)}part-{part_number:08x}"
        lead += MARKER_SEPARATOR
        keys = known.keys if known is not None else self.store.list_state(lead).keys
        stale = [key for key in keys if key.startswith(lead) and key != keep]
        if stale:
            self.store.delete_state(stale)

    def completed_parts(self, object_id: str, upload_id: str) -> dict[int, CompletedPart]:
        """Finished parts by number."""
        return self.record(object_id, upload_id).parts

    def delete_upload(
        self, object_id: str, upload_id: str, known: UploadRecord | None = None
    ) -> None:
        """Remove an upload attempt's spec and markers (`known`: a fresh listing of them)."""
        keys = (known or self.record(object_id, upload_id)).keys
        self.store.delete_state(keys)

    def save_final(self, spec: ObjectSpecification) -> None:
        self.store.put_state(self._final_key(spec.object_id), spec.to_json())

    def load_final(self, object_id: str) -> ObjectSpecification | None:
        key = self._final_key(object_id)
        return _parsed(key, self.store.get_state(key))

    def final_exists(self, object_id: str) -> bool:
        return self.store.state_exists(self._final_key(object_id))

    def delete_final(self, object_id: str) -> None:
        self.store.delete_state([self._final_key(object_id)])
