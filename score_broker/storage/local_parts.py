"""Part PUTs of the local store: each part's bytes written into the upload's data file, and the
part's marker ("<md5> <size> <offset>") written once they are all there."""

from __future__ import annotations

import fcntl
import hashlib
import os
import secrets
from collections.abc import Callable
from pathlib import Path

from score_broker.errors import DataPlaneError
from score_broker.storage.base import StoredPart

#: Buffers per pwritev call (the kernel takes at most IOV_MAX, 1024 on Linux).
WRITE_VECTORS = 512
COPY_CHUNK = 8 * 1024 * 1024


def read_marker(directory: Path, part_number: int) -> StoredPart | None:
    """A stored part's marker: "<md5> <size> <offset>" (older versions wrote no offset)."""
    try:
        md5, size, *_ = (directory / f"part-{part_number}").read_text().split()
    except (FileNotFoundError, NotADirectoryError, ValueError):
        return None
    return StoredPart(etag=md5, size=int(size))


class PartWriter:
    """Writes one part's bytes, hashing as it goes, and records the part once all are there.

    It holds a shared lock on the data file (finalize takes it exclusively) and an exclusive
    lock on the part (two PUTs of one part never interleave). A part's first PUT writes at its
    offset in the upload's data file, and its marker is written last, so a part counts as
    stored only once all its bytes are on disk. A PUT of a part already stored goes to a side
    file first: the stored bytes stay until the new ones have all arrived and passed their
    checks (as on S3, a complete PUT then replaces the part; the same bytes again change
    nothing). Finalize refuses a finished part whose bytes were replaced since.
    """

    def __init__(
        self,
        directory: Path,
        part_number: int,
        offset: int,
        stored: Callable[[int, int, int], None],
    ) -> None:
        self._directory = directory
        self._number = part_number
        self._offset = offset
        self._stored = stored
        self._marker = directory / f"part-{part_number}"
        self._fds: list[int] = []
        self._side: Path | None = None
        try:
            part_lock = os.open(directory / f"part-{part_number}.lock", os.O_RDWR | os.O_CREAT)
            self._fds.append(part_lock)
            self._lock(part_lock, fcntl.LOCK_EX, "Another upload of this part is in progress")
            self._data = os.open(directory / "data", os.O_WRONLY)
            self._fds.append(self._data)
            self._lock(self._data, fcntl.LOCK_SH, "The upload is being finalized")
            self._previous = read_marker(directory, part_number)
            self._fd, self._position = self._data, offset
            if self._previous is not None:
                self._side = directory / f"part-{part_number}.incoming"
                self._fd = os.open(self._side, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
                self._fds.append(self._fd)
                self._position = 0
        except FileNotFoundError:
            self.discard()
            raise DataPlaneError(404, "NoSuchUpload", "The upload does not exist.") from None
        except DataPlaneError:
            self.discard()
            raise
        self._written = 0
        self._md5 = hashlib.md5(usedforsecurity=False)

    @staticmethod
    def _lock(fd: int, mode: int, busy: str) -> None:
        try:
            fcntl.flock(fd, mode | fcntl.LOCK_NB)
        except BlockingIOError:
            raise DataPlaneError(503, "SlowDown", f"{busy}; retry shortly.") from None

    def write(self, chunks: list[bytes]) -> None:
        """Write the next bytes of the part (as received, without joining them first)."""
        for chunk in chunks:
            self._md5.update(chunk)
        buffers = [memoryview(chunk) for chunk in chunks]
        while buffers:
            count = os.pwritev(self._fd, buffers[:WRITE_VECTORS], self._position)
            self._position += count
            self._written += count
            while buffers and count >= len(buffers[0]):
                count -= len(buffers[0])
                buffers.pop(0)
            if buffers and count:
                buffers[0] = buffers[0][count:]

    @property
    def written(self) -> int:
        return self._written

    def hexdigest(self) -> str:
        return self._md5.hexdigest()

    def commit(self) -> str:
        """Record the part as stored; returns its ETag (the hex MD5)."""
        digest = self._md5.hexdigest()
        try:
            previous = self._previous
            if previous is not None and (previous.etag, previous.size) == (digest, self._written):
                return digest  # the same bytes again: nothing changes
            if previous is not None:
                self._copy_side_file()
            tmp = self._marker.with_name(f".{self._marker.name}.{secrets.token_hex(4)}")
            tmp.write_text(f"{digest} {self._written} {self._offset}")
            os.replace(tmp, self._marker)
            self._stored(self._number, self._offset, self._written)
        except FileNotFoundError:
            raise DataPlaneError(
                409, "NoSuchUpload", "The upload was finalized or aborted during this PUT."
            ) from None
        finally:
            self.discard()
        return digest

    def _copy_side_file(self) -> None:
        """Put the new bytes, all received and checked, over the stored part."""
        assert self._side is not None
        self._marker.unlink(missing_ok=True)
        with open(self._side, "rb") as side:
            position = 0
            while chunk := side.read(COPY_CHUNK):
                os.pwrite(self._data, chunk, self._offset + position)
                position += len(chunk)

    def discard(self) -> None:
        """Close the files, release the locks and drop any side file."""
        for fd in self._fds:
            os.close(fd)
        self._fds.clear()
        if self._side is not None:
            self._side.unlink(missing_ok=True)
            self._side = None
