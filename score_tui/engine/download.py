"""A download: parts written at their offsets into a temporary file, checked, renamed into place.

Each byte is hashed once where the whole-file MD5 can be checked: the file's MD5 is taken of
its in-order prefix as parts land, and the parts' own MD5s (`sourceMd5`) are used only when it
does not match, to find the damaged parts and fetch just those again. Where there is no
whole-file check (a byte range, `--validate false`, no MD5 at the server), each part is hashed
as it arrives and held against its `sourceMd5`.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import threading
from pathlib import Path

from score_tui.client.errors import ChecksumMismatch, TransferError
from score_tui.client.models import ObjectSpec
from score_tui.engine.hashing import SequentialHasher, md5_of_range, normalized_md5
from score_tui.engine.model import Md5State, PartRecord
from score_tui.engine.part_job import OnBytes
from score_tui.engine.runner import PartsDamaged, Runner, same_layout

#: How far (bytes) parts may be written ahead of the whole-file MD5.
HASH_WINDOW = 128 * 1024 * 1024


class TargetExists(TransferError):
    """The download's target exists and --force was not given."""


def target_exists_error(path: str) -> TargetExists:
    return TargetExists(f"{path} already exists; use --force to overwrite it")


class DownloadRunner(Runner):
    """Downloads object `transfer.object_id` (or a byte range of it) to `transfer.path`."""

    _placed = False

    async def prepare(self) -> list[PartRecord]:
        t = self.transfer
        target = Path(t.path)
        if target.exists() and not t.force:
            if self._placed_before_a_crash():
                return self.journal.parts(t.id)
            raise target_exists_error(t.path)
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise TransferError(f"cannot create {target.parent}: {exc.strerror}") from None
        spec = await self.api.download_spec(t.object_id, t.offset, t.length)
        if not spec.parts:
            raise TransferError(f"the server returned no parts for {t.object_id}")
        self._base = min(p.offset for p in spec.parts)
        self._window = max(HASH_WINDOW, 2 * max(p.size for p in spec.parts))
        self._source_md5 = {p.number: p.source_md5 for p in spec.parts}
        t.size = sum(p.size for p in spec.parts)
        previous_md5, t.md5 = t.md5, normalized_md5(spec.object_md5)
        t.temp_path = t.temp_path or str(target.parent / f".{target.name}.{t.short_id}.partial")
        parts = self._layout(spec, same_object=previous_md5 in (None, t.md5))
        self.fd = self._open_temp(parts)
        self._check_space(parts)
        await self._reverify(parts)
        self.journal.save(t)
        self.use_spec(spec)
        self._start_hasher(parts)
        self.md5_state(Md5State.PENDING)
        return parts

    def _start_hasher(self, parts: list[PartRecord]) -> None:
        if self.hasher is not None:
            self.hasher.cancel()
            self.hasher = None
        # A one-part object's MD5 is its part's, taken as it arrives (no thread, no re-read).
        self._whole_is_part = len(parts) == 1
        if self.transfer.checks_whole_file and not self._whole_is_part:
            assert self.fd is not None
            self.hasher = SequentialHasher(self.fd, self.transfer.size, write_behind=True)
            self.hasher.start()
            self.landed(parts)

    def _placed_before_a_crash(self) -> bool:
        """A run killed after renaming the checked file into place but before recording it."""
        t = self.transfer
        parts = self.journal.parts(t.id)
        if not t.temp_path or not parts or not all(p.done for p in parts):
            return False
        if os.path.getsize(t.path) != sum(p.size for p in parts):
            return False
        if os.path.exists(t.temp_path):
            if not os.path.samefile(t.temp_path, t.path):
                return False
            os.unlink(t.temp_path)
        self._placed = True
        self.md5_state(Md5State.OK, "checked before the interruption")
        return True

    def _layout(self, spec: ObjectSpec, same_object: bool) -> list[PartRecord]:
        """The journal's parts if the spec has the same layout and object, else a fresh one."""
        t = self.transfer
        known = self.journal.parts(t.id)
        if same_object and same_layout(known, spec):
            return known
        fresh = [PartRecord(p.number, p.offset, p.size) for p in spec.parts]
        self.journal.set_parts(t.id, fresh)
        return fresh

    def _open_temp(self, parts: list[PartRecord]) -> int:
        t = self.transfer
        assert t.temp_path is not None
        existed = os.path.exists(t.temp_path)
        try:
            fd = os.open(t.temp_path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            raise TransferError(
                f"cannot write to {os.path.dirname(t.temp_path)}: {exc.strerror}"
            ) from None
        try:
            if not existed or os.fstat(fd).st_size != t.size:
                self._undo(parts, [p for p in parts if p.done])
            os.ftruncate(fd, t.size)
        except BaseException:
            os.close(fd)
            raise
        return fd

    def _check_space(self, parts: list[PartRecord]) -> None:
        t = self.transfer
        assert t.temp_path is not None
        needed = sum(p.size for p in parts if not p.done)
        used = os.fstat(self.fd).st_blocks * 512 if self.fd is not None else 0
        free = shutil.disk_usage(os.path.dirname(t.temp_path)).free
        if needed > free + used:
            raise TransferError(
                f"not enough free space in {os.path.dirname(t.temp_path)}: "
                f"{needed} bytes needed, {free} free"
            )

    async def _reverify(self, parts: list[PartRecord]) -> None:
        """Parts a killed run finished are trusted only if their bytes still hash right (those
        with nothing to hold them against are checked by the whole-file MD5, or by nothing)."""
        done = [p for p in parts if p.done and (self._source_md5.get(p.number) or p.md5)]
        if not done:
            return
        self.md5_state(Md5State.CHECKING, f"re-checking {len(done)} finished parts")
        assert self.fd is not None
        bad = []
        for part in done:
            digest = await asyncio.to_thread(
                md5_of_range, self.fd, part.offset - self._base, part.size
            )
            expected = (self._source_md5.get(part.number) or part.md5 or "").lower()
            if digest != expected or (part.md5 is not None and digest != part.md5):
                bad.append(part)
        self._undo(parts, bad)

    def _undo(self, parts: list[PartRecord], undone: list[PartRecord]) -> None:
        for part in undone:
            part.done, part.md5, part.etag = False, None, None
        self.journal.parts_undone(self.transfer.id, [p.number for p in undone])

    async def fresh_spec(self) -> ObjectSpec:
        t = self.transfer
        return await self.api.download_spec(t.object_id, t.offset, t.length)

    async def move(self, part: PartRecord, on_bytes: OnBytes) -> None:
        assert self.fd is not None
        hashed_whole = self.transfer.checks_whole_file and not self._whole_is_part
        digest = await self.plane.get_part(
            self.part_name(part),
            self.url(part),
            part.offset,
            part.size,
            self.fd,
            part.offset - self._base,
            on_bytes,
            digest=not hashed_whole,
            room=self._room if self.hasher is not None else None,
        )
        if digest is not None:
            self._check_part(part, digest)
        part.md5 = digest

    def _room(self, end: int, stopped: threading.Event) -> bool:
        """Parts wait while they are too far ahead of the whole-file MD5."""
        assert self.hasher is not None
        return self.hasher.wait_for_room(end, self._window, stopped)

    def _check_part(self, part: PartRecord, digest: str) -> None:
        expected = self._source_md5.get(part.number)
        if expected and digest != expected.lower():
            raise ChecksumMismatch(
                f"{self.part_name(part)}: the bytes received have MD5 {digest}, not {expected}; "
                "fetching again"
            )

    def landed(self, parts: list[PartRecord]) -> None:
        if self.hasher is None:
            return
        readable = 0
        for part in sorted(parts, key=lambda p: p.offset):
            if not part.done:
                break
            readable = part.offset - self._base + part.size
        self.hasher.extend(readable)

    async def finish(self) -> None:
        t = self.transfer
        if self._placed:
            return
        assert self.fd is not None
        assert t.temp_path is not None
        if not t.validate:
            self.md5_state(Md5State.SKIPPED, "--validate false")
        elif not t.whole_object:
            self.md5_state(Md5State.SKIPPED, "a byte range cannot be checked against the file MD5")
        elif t.md5 is None:
            self.md5_state(Md5State.SKIPPED, "the server has no MD5 for this object")
        else:
            self.md5_state(Md5State.CHECKING)
            digest = await self._whole_file_md5()
            if digest != t.md5:
                self.md5_state(Md5State.MISMATCH, f"received {digest}, expected {t.md5}")
                await self._find_damaged(digest)
            self.md5_state(Md5State.OK, digest)
        # A run killed after the rename finds its parts recorded as done (see above).
        self.journal.flush()
        await asyncio.to_thread(self._place)

    async def _whole_file_md5(self) -> str:
        if self.hasher is not None:
            return await self.hasher.result()
        (part,) = self.journal.parts(self.transfer.id)
        if part.md5 is not None:
            return part.md5
        assert self.fd is not None  # finished by a killed run, not hashed since
        return await asyncio.to_thread(md5_of_range, self.fd, 0, part.size)

    async def _find_damaged(self, digest: str) -> None:
        """Raise PartsDamaged with the parts whose bytes differ from their `sourceMd5` (all
        of them where the server has no part MD5s), after the whole-file MD5 failed."""
        t = self.transfer
        assert self.fd is not None
        parts = self.journal.parts(t.id)
        damaged: list[tuple[PartRecord, ChecksumMismatch]] = []
        for part in parts:
            expected = self._source_md5.get(part.number)
            if expected:
                now = await asyncio.to_thread(
                    md5_of_range, self.fd, part.offset - self._base, part.size
                )
                try:
                    self._check_part(part, now)
                except ChecksumMismatch as error:
                    damaged.append((part, error))
        if not damaged:
            unknown = ChecksumMismatch(
                f"{t.file_name}: the downloaded bytes have MD5 {digest}, not {t.md5}; "
                "fetching it again (nothing was written to the target)"
            )
            damaged = [(part, unknown) for part in parts]
        self._undo(parts, [part for part, _ in damaged])
        self._start_hasher(parts)
        raise PartsDamaged(damaged)

    def _place(self) -> None:
        """Flush the checked temp file to disk and move it to the target (in a thread: both
        wait on the disk); only --force replaces an existing file."""
        t = self.transfer
        assert t.temp_path is not None
        assert self.fd is not None
        os.fsync(self.fd)
        if t.force:
            os.replace(t.temp_path, t.path)
        else:
            try:
                os.link(t.temp_path, t.path)
            except FileExistsError:
                raise target_exists_error(t.path) from None
            except OSError:  # a file system without hard links
                if os.path.lexists(t.path):
                    raise target_exists_error(t.path) from None
                os.rename(t.temp_path, t.path)
            else:
                os.unlink(t.temp_path)
        directory = os.open(os.path.dirname(t.path) or ".", os.O_RDONLY)
        try:
            os.fsync(directory)
        finally:
            os.close(directory)
