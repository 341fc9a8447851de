"""The local store's running MD5 of an upload: taken part by part, and not trusted once a
hashed part was stored again with other bytes."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from score_broker.storage.running_digest import RunningDigest

PART = 1024 * 1024


def store_part(directory: Path, number: int, data: bytes) -> str:
    """What a part PUT leaves: the bytes at their offset, a lock file and a marker."""
    offset = (number - 1) * PART
    with open(directory / "data", "r+b") as handle:
        handle.seek(offset)
        handle.write(data)
    (directory / f"part-{number}.lock").touch()
    md5 = hashlib.md5(data, usedforsecurity=False).hexdigest()
    (directory / f"part-{number}").write_text(f"{md5} {len(data)} {offset}")
    return md5


def test_parts_are_hashed_in_file_order_as_they_arrive(tmp_path: Path) -> None:
    (tmp_path / "data").write_bytes(b"")
    parts = [os.urandom(PART) for _ in range(3)]
    digest = RunningDigest(tmp_path)
    markers = {3: store_part(tmp_path, 3, parts[2])}
    digest.stored(3, 2 * PART, PART)
    digest.advance()
    assert digest.position == 0, "part 3 waits for parts 1 and 2"
    markers[1] = store_part(tmp_path, 1, parts[0])
    digest.stored(1, 0, PART)
    digest.advance()
    assert digest.position == PART
    markers[2] = store_part(tmp_path, 2, parts[1])
    digest.stored(2, PART, PART)
    digest.advance()
    position, md5 = digest.resume(markers)
    assert position == 3 * PART
    assert md5.hexdigest() == hashlib.md5(b"".join(parts), usedforsecurity=False).hexdigest()


def test_a_hashed_part_stored_again_with_other_bytes_voids_the_digest(tmp_path: Path) -> None:
    (tmp_path / "data").write_bytes(b"")
    digest = RunningDigest(tmp_path)
    markers = {1: store_part(tmp_path, 1, os.urandom(PART))}
    digest.stored(1, 0, PART)
    digest.advance()
    assert digest.position == PART
    markers[1] = store_part(tmp_path, 1, os.urandom(PART))
    position, md5 = digest.resume(markers)
    assert position == 0
    assert md5.hexdigest() == hashlib.md5(b"", usedforsecurity=False).hexdigest()
