"""Upload state kept in the object store, with Score's key layout (contract section 4.3).

  <upload>/<objectId>_<uploadId>/.meta                  the spec returned by initiate
  <upload>/<objectId>_<uploadId>/part-%08x|<JSON>       zero-byte marker of a finished part
  <data>/<objectId>.meta                                the final spec, written at finalize

Because nothing lives in the broker process, a restarted broker or another replica continues
any upload in progress. The process only remembers the specs it wrote or read: an upload's
spec never changes once written, and whether the upload still exists is always asked of the
store (its listing, or the store's own multipart upload), so a replica that never saw the spec
simply reads it.

A part finished twice with different bytes has two markers until the upload ends; the caller
tells them apart by the part the store holds (`UploadRecord.ambiguous`).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass

from score_broker.errors import InvalidRequest
from score_broker.services.models import CompletedPart, ObjectSpecification
from score_broker.storage.base import ObjectStore

MARKER_SEPARATOR = "|"


#: Upload specs remembered by a broker process.
SPEC_CACHE_SIZE = 4096


@dataclass(frozen=True, slots=True)
class UploadRecord:
    """What one listing of an upload attempt shows: its spec, its finished parts, every key."""

    has_spec: bool
    markers: dict[int, list[CompletedPart]]
    keys: list[str]

    @property
    def ambiguous(self) -> list[int]:
        """Parts with more than one marker (finished again with other bytes)."""
        return [number for number, found in self.markers.items() if len(found) > 1]

    def parts(self, stored_etags: dict[int, str] | None = None) -> dict[int, CompletedPart]:
        """The finished parts; where a part has several markers, the one whose ETag the store
        holds (`stored_etags`), or none."""
        parts = {}
        for number, found in self.markers.items():
            if len(found) == 1:
                parts[number] = found[0]
            elif stored_etags is not None and number in stored_etags:
                matching = [m for m in found if m.etag.lower() == stored_etags[number].lower()]
                if matching:
                    parts[number] = matching[-1]
        return parts


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
        self._specs: OrderedDict[tuple[str, str], ObjectSpecification] = OrderedDict()
        self._specs_lock = threading.Lock()

    def _remember(self, spec: ObjectSpecification) -> None:
        with self._specs_lock:
            self._specs[(spec.object_id, spec.upload_id)] = spec.copy()
            while len(self._specs) > SPEC_CACHE_SIZE:
                self._specs.popitem(last=False)

    def _forget(self, object_id: str, upload_id: str) -> None:
        with self._specs_lock:
            self._specs.pop((object_id, upload_id), None)

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

    def uploads_in_progress(self) -> list[tuple[str, str]]:
        """(object id, upload id) of every upload attempt that has state, in every object."""
        found = []
        for prefix in self.store.list_state(self._upload, delimiter="/").prefixes:
            name = prefix[len(self._upload) : -1]
            object_id, separator, upload_id = name.partition("_")
            if separator and upload_id:
                found.append((object_id, upload_id))
        return found

    def current_upload_id(self, object_id: str) -> str | None:
        """The first upload attempt whose spec exists, as Score picks it."""
        for upload_id in self.upload_ids(object_id):
            if self.store.state_exists(self._upload_prefix(object_id, upload_id) + ".meta"):
                return upload_id
        return None

    def save_spec(self, spec: ObjectSpecification) -> None:
        key = self._upload_prefix(spec.object_id, spec.upload_id) + ".meta"
        self.store.put_state(key, spec.to_json())
        self._remember(spec)

    def load_spec(
        self, object_id: str, upload_id: str, remembered: bool = False
    ) -> ObjectSpecification | None:
        """The upload's spec; `remembered`: from this process's memory if it has it (for a
        caller that learns otherwise whether the upload still exists)."""
        if remembered:
            with self._specs_lock:
                known = self._specs.get((object_id, upload_id))
            if known is not None:
                return known.copy()
        key = self._upload_prefix(object_id, upload_id) + ".meta"
        spec = _parsed(key, self.store.get_state(key))
        if spec is not None:
            self._remember(spec)
        return spec

    def record(self, object_id: str, upload_id: str) -> UploadRecord:
        """Everything stored for an upload attempt, in one listing."""
        prefix = self._upload_prefix(object_id, upload_id)
        keys = self.store.list_state(prefix).keys
        markers: dict[int, list[CompletedPart]] = {}
        for key in keys:
            if key.startswith(prefix + "part-"):
                _, _, text = key.partition(MARKER_SEPARATOR)
                part = CompletedPart.from_json(text)
                markers.setdefault(part.part_number, []).append(part)
        return UploadRecord(prefix + ".meta" in keys, markers, keys)

    def mark_part(
        self, object_id: str, upload_id: str, part: CompletedPart, replace: bool = True
    ) -> None:
        """Record a finished part; `replace`: drop any marker it had first (one listing more),
        else a part finished again with other bytes keeps both until the upload ends."""
        prefix = self._upload_prefix(object_id, upload_id)
        marker = f"{prefix}part-{part.part_number:08x}{MARKER_SEPARATOR}{part.to_json()}"
        if replace:
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

    def delete_upload(
        self, object_id: str, upload_id: str, known: UploadRecord | None = None
    ) -> None:
        """Remove an upload attempt's spec and markers (`known`: a fresh listing of them)."""
        self._forget(object_id, upload_id)
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
