"""One process per transfer: an flock on a file named after it, released by the kernel on exit."""

from __future__ import annotations

import fcntl
import os
from pathlib import Path

from score_tui.client.errors import TransferError


class TransferBusy(TransferError):
    """Another process is working on this transfer."""


class TransferLock:
    """An exclusive, non-blocking lock on `<directory>/<transfer id>.lock`."""

    def __init__(self, directory: Path, transfer_id: str) -> None:
        directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        self.path = directory / f"{transfer_id}.lock"
        self._fd: int | None = None

    def acquire(self) -> None:
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "another process"
            os.close(fd)
            raise TransferBusy(
                f"this transfer is being worked on by process {holder}; "
                "wait for it to finish or stop it first"
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, str(os.getpid()).encode(), 0)
        self._fd = fd

    def release(self) -> None:
        # The file stays: unlinking it would let a second process lock a fresh inode while a
        # third still holds the old one.
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    @staticmethod
    def held(directory: Path, transfer_id: str) -> bool:
        """Whether some process holds the lock right now."""
        path = directory / f"{transfer_id}.lock"
        try:
            fd = os.open(path, os.O_RDWR)
        except FileNotFoundError:
            return False
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        finally:
            os.close(fd)
        return False
