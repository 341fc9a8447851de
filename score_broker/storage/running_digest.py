"""The MD5 of a local upload's data file, taken as its parts are stored, in file order.

Finalize checks the whole object's MD5 and flushes the object to disk. Done only then, each
took a second or more per GiB with the client waiting. Here the contiguous prefix of stored
parts is hashed by a background thread as parts arrive, and the disk writes of the hashed bytes
are started right behind it (posix_fadvise), so finalize has only the last parts left.

What was hashed is held against the parts' markers at finalize: a part stored again since, by
this process or another, makes finalize hash the whole file.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import threading
from collections import OrderedDict
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

CHUNK = 4 * 1024 * 1024
#: Uploads whose digests a broker process keeps (an upload finalized by another process
#: leaves its digest here until it is pushed out).
KEPT = 256


class RunningDigest:
    """The digest of one upload's data file, `position` bytes in."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.position = 0
        self._md5 = hashlib.md5(usedforsecurity=False)
        #: part number -> the MD5 its marker had when the part was hashed
        self._hashed: dict[int, str] = {}
        #: offset -> (part number, size) of parts stored by this process
        self._stored: dict[int, tuple[int, int]] = {}
        self._stored_lock = threading.Lock()
        #: held while hashing, and by finalize once it takes the digest over
        self._mutex = threading.Lock()
        self._closed = False

    def stored(self, number: int, offset: int, size: int) -> None:
        with self._stored_lock:
            self._stored[offset] = (number, size)

    def _next(self) -> tuple[int, int] | None:
        with self._stored_lock:
            return self._stored.get(self.position)

    def advance(self) -> None:
        """Hash the parts that now continue the hashed prefix (in the hashing thread)."""
        with self._mutex:
            if self._closed:
                return
            try:
                fd = os.open(self.directory / "data", os.O_RDONLY)
            except FileNotFoundError:
                return
            try:
                while (found := self._next()) is not None:
                    if not self._hash_part(fd, *found):
                        return
            finally:
                os.close(fd)

    def _hash_part(self, fd: int, number: int, size: int) -> bool:
        """Hash the part at the prefix's end. No lock keeps a PUT of the part out (it would be
        refused meanwhile): its marker is read before and after instead, and a PUT that ran
        in between (it removes the marker first and writes a new one last) voids the digest."""
        marker = _marker(self.directory, number)
        if marker is None or marker[1:3] != (size, self.position):
            return False
        start = self.position
        position = start
        md5 = self._md5.copy()
        while position < start + size:
            chunk = os.pread(fd, min(CHUNK, start + size - position), position)
            if not chunk:
                return False
            md5.update(chunk)
            position += len(chunk)
        if _marker(self.directory, number) != marker:
            return False
        self._md5, self.position = md5, position
        self._hashed[number] = marker[0]
        # Start writing the hashed bytes to disk now rather than in finalize's fsync.
        with contextlib.suppress(OSError):
            os.posix_fadvise(fd, start, size, os.POSIX_FADV_DONTNEED)
        return True

    def resume(self, markers: dict[int, str]) -> tuple[int, Any]:
        """Where finalize goes on hashing, and the digest so far; from 0 if any hashed part
        was stored again since (its marker's MD5 changed)."""
        with self._mutex:
            self._closed = True
            if any(markers.get(number) != md5 for number, md5 in self._hashed.items()):
                return 0, hashlib.md5(usedforsecurity=False)
            return self.position, self._md5.copy()


def _marker(directory: Path, number: int) -> tuple[str, int, int, int, int] | None:
    """A part marker's MD5, size, offset, inode and mtime, None if it is missing or from an
    older version. Markers are replaced, never rewritten in place: a PUT of the same bytes
    that ran meanwhile still leaves another inode or time."""
    try:
        with open(directory / f"part-{number}", "rb") as marker:
            fields = marker.read().split()
            stat = os.fstat(marker.fileno())
    except (FileNotFoundError, NotADirectoryError):
        return None
    try:
        md5, size, offset = fields[0].decode(), int(fields[1]), int(fields[2])
    except (ValueError, IndexError, UnicodeDecodeError):
        return None
    if len(fields) != 3:
        return None
    return md5, size, offset, stat.st_ino, stat.st_mtime_ns


class RunningDigests:
    """The digests of a store's uploads in progress, advanced by one hashing thread."""

    def __init__(self) -> None:
        self._digests: OrderedDict[str, RunningDigest] = OrderedDict()
        self._lock = threading.Lock()
        self._hashing = ThreadPoolExecutor(1, thread_name_prefix="upload-md5")

    def stored(self, directory: Path, upload_id: str, number: int, offset: int, size: int) -> None:
        """A part was stored: hash what now continues the upload's prefix, in the background."""
        with self._lock:
            digest = self._digests.get(upload_id)
            if digest is None:
                digest = self._digests[upload_id] = RunningDigest(directory)
                while len(self._digests) > KEPT:
                    self._digests.popitem(last=False)
        digest.stored(number, offset, size)
        self._hashing.submit(digest.advance)

    def take(self, upload_id: str) -> RunningDigest | None:
        """The upload's digest, which no one advances any more."""
        with self._lock:
            return self._digests.pop(upload_id, None)
