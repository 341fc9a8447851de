"""The upload flow of Score's S3 backend: initiate, finish parts, finalize, status, cancel.

On stores with `whole_object_uploads` (Azure's `blob` flow) an upload is Score's Azure one:
one part, one URL for the whole object, the upload id equal to the object id. The flow's calls
still work (finish-part records the client's MD5, finalize checks the object's size and MD5),
but a client that never makes them, as the Java score-client on Azure, still leaves a readable
object.
"""

from __future__ import annotations

import hashlib
import logging
import time

from score_broker import metrics
from score_broker.errors import ChecksumMismatch, InvalidRequest, NotFound, ObjectExists
from score_broker.services import validation
from score_broker.services.models import (
    CompletedPart,
    ObjectSpecification,
    Part,
    UploadProgress,
)
from score_broker.services.planner import PartPlanner
from score_broker.services.upload_state import UploadRecord, UploadState
from score_broker.services.url_lifetimes import UrlLifetime

log = logging.getLogger(__name__)


def multipart_etag(part_md5s: list[str]) -> str:
    """The ETag S3 gives an object assembled from parts: md5 of the part md5s, a dash, the count."""
    joined = b"".join(bytes.fromhex(md5) for md5 in part_md5s)
    return f"{hashlib.md5(joined, usedforsecurity=False).hexdigest()}-{len(part_md5s)}"


class UploadService:
    """Plans uploads, signs part URLs and keeps each upload's state in the store."""

    def __init__(self, state: UploadState, planner: PartPlanner, url_lifetime: UrlLifetime) -> None:
        self.state = state
        self.store = state.store
        self.planner = planner
        self.url_lifetime = url_lifetime

    @property
    def whole_object(self) -> bool:
        return self.store.whole_object_uploads

    def _drop_uploads(self, object_id: str, reason: metrics.AbortReason) -> bool:
        """Abort the object's uploads in progress and forget their state; False if none."""
        upload_ids = self.state.upload_ids(object_id)
        for old in upload_ids:
            self.abort(object_id, old, reason)
        return bool(upload_ids)

    def abort(self, object_id: str, upload_id: str, reason: metrics.AbortReason) -> None:
        """Abort one upload attempt in the store and drop its state."""
        self.store.abort_multipart(self.state.object_key(object_id), upload_id)
        self.state.delete_upload(object_id, upload_id)
        metrics.upload_aborted(reason)

    def _sign_parts(self, spec: ObjectSpecification) -> None:
        key = spec.object_key
        if self.whole_object:
            spec.parts[0].url = self.store.sign_object_upload(key, self.url_lifetime())
            metrics.signed("upload_object")
            return
        expiry = self.url_lifetime()
        for part in spec.parts:
            part.url = self.store.sign_upload_part(
                key, spec.upload_id, part.part_number, part.offset, part.part_size, expiry
            )
        metrics.signed("upload_part", len(spec.parts))

    def _spec_of(self, object_id: str, upload_id: str) -> ObjectSpecification:
        """The spec of an upload in progress (a remembered one where the store will itself
        refuse a part of an upload that ended)."""
        remembered = self.store.tracks_uploads
        spec = self.state.load_spec(object_id, validation.upload_id(upload_id), remembered)
        if spec is None:
            raise NotFound(f"Upload {upload_id} of object {object_id} is not in progress.")
        return spec

    def _current_spec(self, object_id: str, file_size: int) -> ObjectSpecification:
        """The upload in progress, which must be of `file_size` bytes."""
        validation.object_id(object_id)
        upload_id = self.state.current_upload_id(object_id)
        spec = self.state.load_spec(object_id, upload_id, True) if upload_id else None
        if spec is None:
            raise NotFound(f"Upload ID not found for object ID {object_id}.")
        if spec.object_size != file_size:
            raise InvalidRequest(
                f"The upload in progress is of {spec.object_size} bytes, not {file_size}; "
                "the file changed, so start a new upload."
            )
        return spec

    def initiate(
        self, object_id: str, file_size: int, md5: str | None, overwrite: bool
    ) -> ObjectSpecification:
        """Start a fresh upload, replacing any upload of the object still in progress."""
        validation.object_id(object_id)
        validation.file_size(file_size)
        object_md5 = validation.md5_hex(md5) if md5 else None
        if not overwrite and self.is_finalized(object_id):
            raise ObjectExists(
                f"Attempted to overwrite object id {object_id}: it is already uploaded; "
                "pass overwrite=true to replace it."
            )
        key = self.state.object_key(object_id)
        self._drop_uploads(object_id, "replaced")
        if self.whole_object:
            # The client's write replaces the object at once (no commit step to wait for):
            # the old record must not describe the new bytes.
            self.state.delete_final(object_id)
            upload_id = object_id
            parts = [Part(part_number=1, part_size=file_size, offset=0, md5=object_md5)]
        else:
            upload_id = self.store.create_multipart(key)
            parts = [
                Part(part_number=p.number, part_size=p.size, offset=p.offset)
                for p in self.planner.divide(0, file_size)
            ]
        spec = ObjectSpecification(
            object_key=key,
            object_id=object_id,
            upload_id=upload_id,
            parts=parts,
            object_size=file_size,
            object_md5=object_md5,
            initiated=time.time(),
        )
        self._sign_parts(spec)
        self.state.save_spec(spec)
        metrics.upload_started(file_size)
        log.info(
            "upload %s of %s started: %d bytes, %d parts",
            upload_id,
            object_id,
            file_size,
            len(parts),
        )
        return spec

    def finish_part(
        self, object_id: str, upload_id: str, part_number: int, md5: str, etag: str
    ) -> None:
        """Record a part as finished once the store holds it with that ETag and size."""
        validation.object_id(object_id)
        if not md5.strip() or not etag.strip():
            raise InvalidRequest("Both md5 and etag are required to finish a part.")
        md5_hex = validation.md5_hex(md5)
        etag = etag.strip().strip('"')
        spec = self._spec_of(object_id, upload_id)
        if not 1 <= part_number <= len(spec.parts):
            raise InvalidRequest(
                f"Part {part_number} does not exist: the upload has parts 1 to {len(spec.parts)}."
            )
        if self.whole_object:
            # The object appears only once the client commits it: finalize checks it then.
            self.state.mark_part(object_id, spec.upload_id, CompletedPart(1, md5_hex, md5_hex))
            return
        planned = spec.parts[part_number - 1]
        stored = self.store.get_part(spec.object_key, spec.upload_id, part_number)
        if stored is None or (
            self.store.reports_part_etags and stored.etag.lower() != etag.lower()
        ):
            raise InvalidRequest(
                f"Part does not exist with ETag {etag} (part {part_number} of upload "
                f"{upload_id}); upload the part again."
            )
        if stored.size != planned.part_size:
            raise InvalidRequest(
                f"Part {part_number} holds {stored.size} bytes but must hold {planned.part_size}; "
                "upload the part again."
            )
        if self.store.part_etag_is_md5 and stored.etag.lower() != md5_hex:
            raise InvalidRequest(
                f"Part {part_number} was stored with MD5 {stored.etag} but md5 says {md5_hex}; "
                "upload the part again."
            )
        self.state.mark_part(
            object_id,
            spec.upload_id,
            CompletedPart(part_number, md5_hex, etag.lower()),
            replace=not self.store.tracks_uploads,
        )

    def _finished(
        self, spec: ObjectSpecification, record: UploadRecord
    ) -> dict[int, CompletedPart]:
        """The upload's finished parts; a part with two markers is the one the store holds."""
        stored = {}
        for number in record.ambiguous:
            part = self.store.get_part(spec.object_key, spec.upload_id, number)
            if part is not None:
                stored[number] = part.etag
        return record.parts(stored)

    def forget_part(self, object_id: str, upload_id: str, part_number: int) -> None:
        """Unmark a finished part so it is uploaded again (the stored bytes are replaced then)."""
        validation.object_id(object_id)
        record = self.state.record(object_id, validation.upload_id(upload_id))
        if not record.has_spec:
            raise NotFound(f"Upload {upload_id} of object {object_id} is not in progress.")
        self.state.unmark_part(object_id, upload_id, part_number, record)

    def finalize(self, object_id: str, upload_id: str) -> None:
        """Assemble the object once every part is finished, and write its final spec."""
        validation.object_id(object_id)
        validation.upload_id(upload_id)
        record = self.state.record(object_id, upload_id)
        spec = self.state.load_spec(object_id, upload_id, True) if record.has_spec else None
        if spec is None:
            final = self.state.load_final(object_id)
            if final is not None and final.upload_id == upload_id:
                return  # already finalized, by this broker or another replica
            raise NotFound(f"Upload {upload_id} of object {object_id} is not in progress.")
        if self.whole_object:
            self._finalize_whole_object(spec)
            return
        done = self._finished(spec, record)
        missing = [p.part_number for p in spec.parts if p.part_number not in done]
        if missing:
            shown = ", ".join(map(str, missing[:10])) + (" ..." if len(missing) > 10 else "")
            raise InvalidRequest(
                f"Object cannot be finalized: {len(missing)} of {len(spec.parts)} parts are "
                f"not finished (parts {shown})."
            )
        etags = [done[p.part_number].etag for p in spec.parts]
        try:
            computed = self.store.complete_multipart(
                spec.object_key, upload_id, etags, spec.object_md5
            )
        except NotFound:
            # Completed already, by another replica or by a finalize that stopped before it
            # wrote the final spec: accept it only if the stored object is this upload's.
            final = self.state.load_final(object_id)
            if final is not None and final.upload_id == upload_id:
                return
            head = self.store.head(spec.object_key)
            if head is None or head.etag != multipart_etag([done[n].md5 for n in sorted(done)]):
                raise
            computed = None
        self._publish(spec, done, record, computed)

    def _publish(
        self,
        spec: ObjectSpecification,
        done: dict[int, CompletedPart],
        record: UploadRecord,
        computed_md5: str | None,
    ) -> None:
        """Write the final spec of a finished upload and drop its state."""
        final = spec.copy()
        final.object_md5 = spec.object_md5 or computed_md5
        for part in final.parts:
            part.url = None
            part.source_md5 = done[part.part_number].md5
        self.state.save_final(final)
        self.state.delete_upload(spec.object_id, spec.upload_id, record)
        metrics.upload_finalized()
        log.info("upload %s of %s finalized", spec.upload_id, spec.object_id)

    def _finalize_whole_object(self, spec: ObjectSpecification) -> None:
        """Record an object the client wrote whole, once it is there with the planned size."""
        head = self.store.head(spec.object_key)
        if head is None or head.size != spec.object_size:
            found = "nothing" if head is None else f"{head.size} bytes"
            raise InvalidRequest(
                f"Object cannot be finalized: the store holds {found} for {spec.object_id}, "
                f"not {spec.object_size} bytes; upload the file again."
            )
        if head.md5 and spec.object_md5 and head.md5 != spec.object_md5:
            raise ChecksumMismatch(
                f"The stored object's MD5 is {head.md5}, not the declared {spec.object_md5}; "
                "upload the file again."
            )
        final = spec.copy()
        final.object_md5 = spec.object_md5 or head.md5
        # Downloads go in planned parts, as Score's Azure download does (no part MD5s known).
        final.parts = [
            Part(part_number=p.number, part_size=p.size, offset=p.offset)
            for p in self.planner.divide(0, spec.object_size)
        ]
        self.state.save_final(final)
        self.state.delete_upload(spec.object_id, spec.upload_id)
        metrics.upload_finalized()
        log.info("upload of %s finalized (written whole)", spec.object_id)

    def progress(self, object_id: str, file_size: int) -> UploadProgress:
        """The upload in progress with fresh part URLs; finished parts carry `sourceMd5`."""
        spec = self._current_spec(object_id, file_size)
        done = self._finished(spec, self.state.record(object_id, spec.upload_id))
        self._sign_parts(spec)
        for part in spec.parts:
            finished = done.get(part.part_number)
            part.source_md5 = finished.md5 if finished else None
        return UploadProgress(object_id, spec.upload_id, spec.parts)

    def check_recoverable(self, object_id: str, file_size: int) -> None:
        """Succeeds when an upload of this size is in progress (NotFound, InvalidRequest if not)."""
        self._current_spec(object_id, file_size)

    def is_finalized(self, object_id: str) -> bool:
        validation.object_id(object_id)
        if self.state.final_exists(object_id):
            return True
        # Written whole by a client that never finalizes (score-client on Azure), as Score sees it.
        return self.whole_object and self.store.head(self.state.object_key(object_id)) is not None

    def cancel_all(self) -> int:
        """Abort every upload in progress, as Score's `POST /upload/cancel`; returns how many."""
        in_progress = self.state.uploads_in_progress()
        for object_id, upload_id in in_progress:
            self.abort(object_id, upload_id, "cancelled")
        log.info("cancelled %d uploads in progress", len(in_progress))
        return len(in_progress)

    def cancel(self, object_id: str) -> None:
        """Abort the upload in progress and drop its state."""
        validation.object_id(object_id)
        if not self._drop_uploads(object_id, "cancelled"):
            raise NotFound(f"Upload ID not found for object ID {object_id}.")
