"""Finalizing a local upload: every part's marker checked against the ETags the broker recorded,
the whole object's MD5 checked, and the data file renamed into place."""

from __future__ import annotations

import fcntl
import hashlib
import os
from pathlib import Path

from score_broker.errors import ChecksumMismatch, InvalidRequest
from score_broker.storage.local_parts import read_marker
from score_broker.storage.running_digest import RunningDigest

HASH_CHUNK = 8 * 1024 * 1024


def assemble(
    directory: Path,
    target: Path,
    etags: list[str],
    expected: str | None,
    running: RunningDigest | None,
) -> str:
    """Publish the upload in `directory` at `target` and return its MD5; InvalidRequest if a
    part is not stored as recorded, ChecksumMismatch if the bytes are not the declared ones.
    `running` is the MD5 taken as the parts arrived, if this process has it."""
    with open(directory / "data", "rb") as handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        for number, etag in enumerate(etags, start=1):
            stored = read_marker(directory, number)
            if stored is None or stored.etag != etag:
                raise InvalidRequest(
                    f"Part {number} of upload {directory.name} is not stored as {etag}; "
                    "upload it again."
                )
        markers = dict(enumerate(etags, start=1))
        position, md5 = running.resume(markers) if running else (0, None)
        md5 = md5 or hashlib.md5(usedforsecurity=False)
        while chunk := os.pread(handle.fileno(), HASH_CHUNK, position):
            md5.update(chunk)
            position += len(chunk)
        digest = md5.hexdigest()
        if expected is not None and digest != expected:
            raise ChecksumMismatch(
                f"The uploaded bytes have MD5 {digest} but the upload declared {expected}; "
                "the file changed while it was uploaded, or the declared MD5 is wrong."
            )
        os.fsync(handle.fileno())
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(directory / "data", target)
    return digest
