"""A journal holding a large queue: `transfers` transfers of `parts` parts each."""

from __future__ import annotations

from pathlib import Path

from score_tui.engine.journal import Journal
from score_tui.engine.model import Direction, PartRecord, State, Transfer

PART = 20 * 1024 * 1024


def write_large_journal(path: Path, server_url: str, transfers: int, parts: int) -> list[str]:
    """Paused downloads, each a quarter done; returns their ids."""
    journal = Journal(path)
    ids = []
    for number in range(transfers):
        transfer = Transfer(
            direction=Direction.DOWNLOAD,
            object_id=f"00000000-0000-4000-8000-{number:012d}",
            server_url=server_url,
            path=f"/data/sample-{number:03d}.cram",
            file_name=f"sample-{number:03d}.cram",
            size=parts * PART,
            state=State.PAUSED,
            id=f"{number:032x}",
        )
        journal.add(transfer)
        journal.set_parts(
            transfer.id,
            [PartRecord(n + 1, n * PART, PART, done=n < parts // 4) for n in range(parts)],
        )
        ids.append(transfer.id)
    journal.close()
    return ids
