"""A transfer and its parts, as the engine and the journal see them."""

from __future__ import annotations

import os
import uuid
from dataclasses import dataclass, field
from enum import StrEnum


class Direction(StrEnum):
    UPLOAD = "upload"
    DOWNLOAD = "download"


class State(StrEnum):
    """Where a transfer is. Only `done` means the bytes are in place and verified."""

    QUEUED = "queued"
    RUNNING = "running"
    PAUSED = "paused"
    FAILED = "failed"
    DONE = "done"
    CANCELLED = "cancelled"

    @property
    def settled(self) -> bool:
        return self in (State.PAUSED, State.FAILED, State.DONE, State.CANCELLED)


class PartState(StrEnum):
    QUEUED = "queued"
    MOVING = "moving"
    VERIFYING = "verifying"
    DONE = "done"
    FAILED = "failed"


class Md5State(StrEnum):
    """The whole-file MD5 check of a transfer."""

    PENDING = "pending"
    CHECKING = "checking"
    OK = "ok"
    MISMATCH = "mismatch"
    SKIPPED = "skipped"


@dataclass(slots=True)
class PartRecord:
    """A part: its place in the file and, once done, the MD5 of its bytes (and ETag on upload)."""

    number: int
    offset: int
    size: int
    done: bool = False
    md5: str | None = None
    etag: str | None = None


#: Field metadata of what the journal does not keep.
NOT_JOURNALLED = {"journalled": False}


@dataclass(slots=True)
class Transfer:
    """One file moving in one direction between `path` and object `object_id`.

    For an upload `path` is the source file; for a download it is the final target, and the
    bytes go to `temp_path` until the whole-file MD5 passes. `offset`/`length` select a byte
    range of the object (length -1: to the end). `md5` is the declared MD5 of an upload or the
    expected `objectMd5` of a download.
    """

    direction: Direction
    object_id: str
    server_url: str
    path: str
    file_name: str
    size: int = 0
    md5: str | None = None
    #: Whether the user gave the upload's MD5 (else the client computed it from the file).
    md5_declared: bool = False
    offset: int = 0
    length: int = -1
    force: bool = False
    validate: bool = True
    state: State = State.QUEUED
    error: str | None = None
    upload_id: str | None = None
    temp_path: str | None = None
    #: Size and modification time of an upload's source when its upload began.
    source_stamp: str | None = None
    id: str = field(default_factory=lambda: uuid.uuid4().hex)
    created: float = 0.0
    updated: float = 0.0
    #: Bytes of the parts done (the journal sums its parts rather than keeping this).
    bytes_done: int = field(default=0, metadata=NOT_JOURNALLED)
    #: The whole-file MD5 check of this run, and why it was skipped if it was (not journalled).
    md5_check: Md5State = field(default=Md5State.PENDING, metadata=NOT_JOURNALLED)
    md5_note: str | None = field(default=None, metadata=NOT_JOURNALLED)
    #: An upload whose object this run registered in Song: it cannot exist at the broker yet,
    #: so nothing is asked before starting it (not journalled: a resumed run asks).
    new_object: bool = field(default=False, metadata=NOT_JOURNALLED)

    @property
    def short_id(self) -> str:
        return self.id[:8]

    @property
    def checks_whole_file(self) -> bool:
        """Whether the whole-file MD5 can be and is to be checked (downloads)."""
        return self.validate and self.whole_object and self.md5 is not None

    @property
    def whole_object(self) -> bool:
        return self.offset == 0 and self.length < 0


def file_stamp(path: str) -> str:
    """Size and modification time of a file: what changes when its content is rewritten."""
    info = os.stat(path)
    return f"{info.st_size}:{info.st_mtime_ns}"
