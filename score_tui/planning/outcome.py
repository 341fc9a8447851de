"""What a batch command reports per file, and the exit status it adds up to."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from score_tui.engine.model import State, Transfer

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130


@dataclass(slots=True)
class Outcome:
    """One file's result: `done`, `skipped`, `failed`, `paused` or `cancelled`."""

    file: str
    direction: str
    state: str
    object_id: str | None = None
    path: str | None = None
    size: int | None = None
    md5: str | None = None
    error: str | None = None
    transfer_id: str | None = None
    md5_check: str | None = None
    #: `view`: the records written and the bytes fetched from the store (index included).
    records: int | None = None
    bytes_fetched: int | None = None

    @classmethod
    def of(cls, transfer: Transfer) -> Outcome:
        return cls(
            file=transfer.file_name,
            direction=transfer.direction.value,
            state=transfer.state.value,
            object_id=transfer.object_id,
            path=transfer.path,
            size=transfer.size,
            md5=transfer.md5,
            error=transfer.error,
            transfer_id=transfer.id,
            md5_check=transfer.md5_check.value if transfer.state == State.DONE else None,
        )

    @classmethod
    def failed(cls, file: str, direction: str, error: str, object_id: str | None = None) -> Outcome:
        return cls(file=file, direction=direction, state="failed", object_id=object_id, error=error)

    def to_json(self) -> dict[str, Any]:
        """camelCase keys, as in Score's and Song's JSON; unset fields left out."""
        return {_camel(k): v for k, v in asdict(self).items() if v is not None}


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(word.title() for word in rest)


def exit_status(outcomes: list[Outcome]) -> int:
    if any(o.state in (State.FAILED, State.CANCELLED) for o in outcomes):
        return EXIT_FAILED
    if any(o.state in (State.PAUSED, State.QUEUED, State.RUNNING) for o in outcomes):
        return EXIT_INTERRUPTED
    return EXIT_OK
