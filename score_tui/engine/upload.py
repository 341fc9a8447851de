"""An upload: initiate or resume at the broker, PUT parts with Content-MD5, check, finalize."""

from __future__ import annotations

import os
import stat

from score_tui.client.errors import ChecksumMismatch, TransferError
from score_tui.client.models import ObjectSpec
from score_tui.engine.hashing import md5_of_file, normalized_md5
from score_tui.engine.locks import TransferLock
from score_tui.engine.model import Md5State, PartRecord, file_stamp
from score_tui.engine.part_job import OnBytes
from score_tui.engine.runner import Runner, same_layout
from score_tui.engine.source_digests import SourceDigests


class UploadRunner(Runner):
    """Uploads `transfer.path` to object `transfer.object_id`; never writes beside the file.

    Each part's MD5 and the whole file's come from one read of the file (`SourceDigests`). A
    fresh one-part upload reads nothing itself: its Content-MD5 is the declared MD5, which the
    store checks against the bytes it receives (and its ETag must be that MD5).
    """

    _finalized = False
    digests: SourceDigests | None = None

    async def prepare(self) -> list[PartRecord]:
        t = self.transfer
        self.fd = _open_source(t.path)
        info = os.fstat(self.fd)
        stamp = file_stamp(t.path)
        if info.st_size == 0:
            raise TransferError(f"{t.path} is empty; Score does not store empty files")
        if t.source_stamp and t.source_stamp != stamp:
            raise TransferError(
                f"{t.path} changed since its upload began; upload it again to start over"
            )
        t.source_stamp = stamp
        t.size = info.st_size
        if t.md5 is None:
            self.md5_state(Md5State.CHECKING, "computing the MD5 to declare")
            t.md5 = await md5_of_file(self.fd, t.size)
        declared = normalized_md5(t.md5)
        if declared is None:
            raise TransferError(f"{t.md5!r} is not an MD5; give 32 hex digits")
        t.md5 = declared
        self.md5_state(Md5State.PENDING)

        parts = await self._resumed_parts()
        if parts is None:
            parts = await self._initiate()
        if len(parts) > 1 or any(p.done for p in parts):
            self.digests = SourceDigests(self.fd, parts)
            await self._recheck_finished(parts)
        return parts

    _recorded: dict[int, str | None]

    async def _resumed_parts(self) -> list[PartRecord] | None:
        """The parts of the upload this transfer started, if the broker still has it."""
        t = self.transfer
        self._recorded = {}
        if not t.upload_id:
            return None
        spec = await self.api.upload_status(t.object_id, t.size)
        if spec is None:
            # Killed between finalize and the journal write: the object is already complete.
            parts = self.journal.parts(t.id)
            if parts and all(p.done for p in parts) and await self.api.exists(t.object_id):
                self._finalized = True
                return parts
            return None
        if spec.upload_id != t.upload_id:
            return None
        parts = self.journal.parts(t.id)
        if not same_layout(parts, spec):
            return None
        self._recorded = {part.number: part.source_md5 or part.md5 for part in spec.parts}
        self.use_spec(spec)
        return parts

    async def _recheck_finished(self, parts: list[PartRecord]) -> None:
        """A finished part is trusted only if the server recorded it and the file still holds
        the bytes that were sent."""
        assert self.digests is not None
        redo = []
        for part in (p for p in parts if p.done and not self._finalized):
            now = await self.digests.part(part.number)
            recorded = (self._recorded.get(part.number) or "").lower()
            if now != part.md5 or recorded != part.md5:
                part.done, part.md5, part.etag = False, None, None
                redo.append(part.number)
        self.journal.parts_undone(self.transfer.id, redo)

    async def _initiate(self) -> list[PartRecord]:
        t = self.transfer
        if not t.force and not t.new_object:
            if await self.api.exists(t.object_id):
                raise TransferError(
                    f"object {t.object_id} already exists remotely; use --force to upload it again"
                )
            running = await self.api.upload_status(t.object_id, t.size)
            if running and not self._ours_and_idle(running.upload_id or ""):
                raise TransferError(
                    f"an upload of object {t.object_id} is already in progress, started "
                    "elsewhere; wait for it, or use --force to start again"
                )
        spec = await self.api.initiate(t.object_id, t.size, t.md5 or "")
        if not spec.upload_id or not spec.parts:
            raise TransferError(f"the server started no upload for {t.object_id}")
        if sum(p.size for p in spec.parts) != t.size or any(p.size <= 0 for p in spec.parts):
            raise TransferError(f"the server planned parts that do not add up to {t.size} bytes")
        t.upload_id = spec.upload_id
        parts = [PartRecord(p.number, p.offset, p.size) for p in spec.parts]
        self.journal.set_parts(t.id, parts)
        self.journal.save(t)
        self.use_spec(spec)
        return parts

    def _ours_and_idle(self, upload_id: str) -> bool:
        """Whether this journal started the upload and no other process is still sending it."""
        owners = self.journal.uploaders(self.transfer.object_id, upload_id)
        return bool(owners) and not any(
            TransferLock.held(self.lock_dir, owner) for owner in owners if owner != self.transfer.id
        )

    async def fresh_spec(self) -> ObjectSpec:
        t = self.transfer
        spec = await self.api.upload_status(t.object_id, t.size)
        if spec is None or spec.upload_id != t.upload_id:
            raise TransferError(
                f"the upload of {t.object_id} was cancelled at the server; run it again"
            )
        return spec

    async def move(self, part: PartRecord, on_bytes: OnBytes) -> None:
        t = self.transfer
        assert self.fd is not None
        assert t.md5 is not None
        md5 = await self.digests.part(part.number) if self.digests else t.md5
        what = self.part_name(part)
        try:
            part.etag = await self.plane.put_part(
                what, self.url(part), self.fd, part.offset, part.size, md5, on_bytes
            )
        except ChecksumMismatch:
            if self.digests is None:
                await self._check_declared_md5()
            raise
        part.md5 = md5

    async def record(self, part: PartRecord) -> None:
        t = self.transfer
        assert t.upload_id is not None
        assert part.md5 is not None
        assert part.etag is not None
        await self.api.finish_part(t.object_id, t.upload_id, part.number, part.md5, part.etag)

    async def _check_declared_md5(self) -> None:
        """The store refused a one-part upload's bytes: say so plainly if the file does not
        have the declared MD5, rather than sending it again."""
        t = self.transfer
        assert self.fd is not None
        self._must_be_declared(await md5_of_file(self.fd, t.size))

    def _must_be_declared(self, digest: str | None) -> None:
        t = self.transfer
        if digest != t.md5:
            self.md5_state(Md5State.MISMATCH, f"read {digest}, declared {t.md5}")
            raise TransferError(
                f"{t.path}: its MD5 is {digest} but {t.md5} was declared; the file changed or "
                "the declared MD5 is wrong. Nothing was finalized"
            )

    def close(self) -> None:
        if self.digests is not None:
            self.digests.close()
        super().close()

    async def finish(self) -> None:
        t = self.transfer
        assert self.fd is not None
        assert t.upload_id is not None
        self.md5_state(Md5State.CHECKING)
        # One part: the store took the bytes only if they have the declared MD5 (Content-MD5).
        digest = await self.digests.whole() if self.digests else t.md5
        if file_stamp(t.path) != t.source_stamp:
            self.md5_state(Md5State.MISMATCH, "the file changed")
            raise TransferError(
                f"{t.path} changed while it was uploading; nothing was finalized. "
                "Upload it again once it stops changing"
            )
        self._must_be_declared(digest)
        self.md5_state(Md5State.OK, digest)
        if not self._finalized:
            # A run killed after this finalize resumes from the parts recorded here.
            self.journal.flush()
            await self.api.finalize(t.object_id, t.upload_id)


def _open_source(path: str) -> int:
    try:
        fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        raise TransferError(f"{path} does not exist") from None
    except PermissionError:
        raise TransferError(f"{path} cannot be read (permission denied)") from None
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise TransferError(f"{path} is not a regular file")
    return fd
