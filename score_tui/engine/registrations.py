"""The journal's record of the analyses a one-step upload registered in Song.

It is what lets the very same `upload --study S --file F [--publish]` be run again after a
kill: the run finds the analysis this journal registered for the same study and the same files
(name, size and MD5), instead of registering them again, and remembers whether it was asked to
publish, so `resume` publishes too.

A registration is written, and committed, before Song is asked (state `submitting`): a run
killed before the journal learnt the analysis id then knows to look for it in Song.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum

from score_tui.engine.journal import Journal


class RegistrationState(StrEnum):
    """Where a registration is: only `published` (or `uploaded`, without --publish) is final."""

    #: Song is being asked; it may hold the analysis though the journal has no id yet.
    SUBMITTING = "submitting"
    REGISTERED = "registered"
    UPLOADED = "uploaded"
    PUBLISHED = "published"
    #: Replaced by a later registration (the files changed and --force was given).
    ABANDONED = "abandoned"

    @property
    def unfinished(self) -> bool:
        return self in (RegistrationState.SUBMITTING, RegistrationState.REGISTERED)


@dataclass(slots=True)
class RegisteredFile:
    """A file of a registration: what Song was told of it, and the object id Song gave it."""

    name: str
    path: str
    size: int
    md5: str
    object_id: str | None = None

    @property
    def key(self) -> tuple[str, int, str]:
        """What identifies the file to Song: its name, size and MD5."""
        return (self.name, self.size, self.md5.lower())


@dataclass(slots=True)
class RegistrationRecord:
    """The files of one `upload --study` sent to Song, and what became of them."""

    study: str
    server_url: str
    metadata_url: str
    files: list[RegisteredFile]
    publish: bool
    state: RegistrationState = RegistrationState.SUBMITTING
    analysis_id: str | None = None
    id: str = field(default_factory=lambda: uuid.uuid4().hex)

    def same_files(self, files: Iterable[RegisteredFile]) -> bool:
        return sorted(f.key for f in self.files) == sorted(f.key for f in files)


class Registrations:
    """The registrations of a journal (every write is committed before it returns)."""

    def __init__(self, journal: Journal) -> None:
        self.journal = journal

    def add(self, record: RegistrationRecord) -> None:
        """Record a registration and its files (before Song is asked)."""
        now = time.time()
        self.journal.write_now(
            (
                "INSERT INTO registrations (id, study, server_url, metadata_url, analysis_id, "
                "publish, state, created, updated) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [(
                    record.id, record.study, record.server_url, record.metadata_url,
                    record.analysis_id, int(record.publish), record.state.value, now, now,
                )],
            ),
            self._files_write(record),
        )  # fmt: skip

    def save(self, record: RegistrationRecord) -> None:
        """Write the analysis id, the publish intent, the state and the files' object ids."""
        self.journal.write_now(
            (
                "UPDATE registrations SET analysis_id = ?, publish = ?, state = ?, updated = ? "
                "WHERE id = ?",
                [(record.analysis_id, int(record.publish), record.state.value, time.time(),
                  record.id)],
            ),
            self._files_write(record),
        )  # fmt: skip

    @staticmethod
    def _files_write(record: RegistrationRecord) -> tuple[str, list[tuple[object, ...]]]:
        return (
            "INSERT OR REPLACE INTO registered_files (registration_id, position, name, path, "
            "size, md5, object_id) VALUES (?, ?, ?, ?, ?, ?, ?)",
            [
                (record.id, n, f.name, f.path, f.size, f.md5, f.object_id)
                for n, f in enumerate(record.files)
            ],
        )

    def forget(self, record: RegistrationRecord) -> None:
        """Drop a registration Song refused: nothing of it exists there."""
        self.journal.write_now(("DELETE FROM registrations WHERE id = ?", [(record.id,)]))

    def in_study(self, metadata_url: str, study: str) -> list[RegistrationRecord]:
        """The study's registrations that were not abandoned, the latest first."""
        return self._select(
            "WHERE metadata_url = ? AND study = ? AND state != 'abandoned'",
            (metadata_url, study),
        )

    def to_publish(self, server_url: str, metadata_url: str) -> list[RegistrationRecord]:
        """Registrations to this broker and Song that were asked to publish and are not yet."""
        return self._select(
            "WHERE server_url = ? AND metadata_url = ? AND publish = 1 "
            "AND state IN ('registered', 'uploaded')",
            (server_url, metadata_url),
        )

    def _select(self, where: str, args: tuple[object, ...]) -> list[RegistrationRecord]:
        rows = self.journal.query(
            "SELECT id, study, server_url, metadata_url, analysis_id, publish, state "  # noqa: S608
            f"FROM registrations {where} ORDER BY created DESC, rowid DESC",
            args,
        )
        return [
            RegistrationRecord(
                study=row["study"],
                server_url=row["server_url"],
                metadata_url=row["metadata_url"],
                files=self._files(row["id"]),
                publish=bool(row["publish"]),
                state=RegistrationState(row["state"]),
                analysis_id=row["analysis_id"],
                id=row["id"],
            )
            for row in rows
        ]

    def _files(self, registration_id: str) -> list[RegisteredFile]:
        rows = self.journal.query(
            "SELECT name, path, size, md5, object_id FROM registered_files "
            "WHERE registration_id = ? ORDER BY position",
            (registration_id,),
        )
        return [
            RegisteredFile(r["name"], r["path"], r["size"], r["md5"], r["object_id"]) for r in rows
        ]

    def uploaded(self, record: RegistrationRecord) -> bool:
        """Whether every file of the registration finished uploading to its broker."""
        return all(
            f.object_id is not None and self.journal.uploaded(record.server_url, f.object_id)
            for f in record.files
        )
