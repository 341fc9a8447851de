"""A fixed queue in a journal, for snapshot tests and the README's screenshots.

Every transfer, part and path is the same on every run, and the app is told it is connected
without a broker, so the screens can be compared byte for byte.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from score_tui.app import TransferApp
from score_tui.config import Settings
from score_tui.engine.journal import Journal
from score_tui.engine.model import Direction, PartRecord, State, Transfer

SERVER = "https://score.example.org"
MB = 1_000_000
PART = 20 * 1024 * 1024
#: (name, direction, size, state, parts done, error)
ROWS = [
    ("NA12878.wgs.bam", Direction.DOWNLOAD, 5_210 * MB, State.RUNNING, 120, None),
    ("NA12878.wgs.bam.bai", Direction.DOWNLOAD, 9 * MB, State.DONE, 1, None),
    ("HG00096.cram", Direction.DOWNLOAD, 3_140 * MB, State.PAUSED, 61, None),
    ("tumour-R1.fastq.gz", Direction.UPLOAD, 2_480 * MB, State.RUNNING, 40, None),
    ("tumour-R2.fastq.gz", Direction.UPLOAD, 2_510 * MB, State.QUEUED, 0, None),
    ("cohort.vcf.gz", Direction.DOWNLOAD, 840 * MB, State.FAILED, 12,
     "part 14: the store refused the URL (403); gave up after 10 attempts"),
    ("README.txt", Direction.UPLOAD, 2_048, State.DONE, 1, None),
]  # fmt: skip


def parts_of(size: int, done: int) -> list[PartRecord]:
    count = max(1, -(-size // PART))
    return [
        PartRecord(n + 1, n * PART, min(PART, size - n * PART), done=n < done) for n in range(count)
    ]


def write_sample_journal(path: Path, home: Path) -> list[str]:
    """Write the sample queue; returns the transfer ids in order."""
    journal = Journal(path)
    ids = []
    for number, (name, direction, size, state, done, error) in enumerate(ROWS):
        transfer = Transfer(
            direction=direction,
            object_id=f"00000000-0000-4000-8000-{number:012d}",
            server_url=SERVER,
            path=str(home / "data" / name),
            file_name=name,
            size=size,
            md5=hashlib.md5(name.encode(), usedforsecurity=False).hexdigest(),
            state=state,
            error=error,
            id=f"{number:032x}",
        )
        journal.add(transfer)
        journal.set_parts(transfer.id, parts_of(size, done))
        ids.append(transfer.id)
    journal.close()
    return ids


class SampleApp(TransferApp):
    """The app on the sample queue: connected in appearance, with no broker to reach."""

    def connect(self) -> None:  # type: ignore[override]
        self.broker_status = "connected (s3)"

    def _resume_interrupted(self) -> None:
        return None


def sample_settings(home: Path) -> Settings:
    return Settings(
        profile="consortium",
        server_url=SERVER,
        metadata_url=f"{SERVER}/song",
        token="0123456789abcdef0123456789abcdef",
        token_source="OS keyring",
        config_file=home / "config.toml",
    )


def sample_app(home: Path) -> SampleApp:
    return SampleApp(
        sample_settings(home),
        defaults={"study": "DEMO", "downloads": str(home / "downloads"), "files": str(home)},
    )
