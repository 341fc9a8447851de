"""Which file of an analysis indexes another, by names alone: shared by the client's `view`
and the broker's htsget, so both find the same index."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TypeVar

T = TypeVar("T")

INDEX_SUFFIXES = (".bai", ".crai", ".tbi", ".csi", ".idx")
#: Index suffixes that may also replace the data file's own suffix (`x.bam` -> `x.bai`).
STEM_SUFFIXES = (".bai", ".crai")


def index_names(file_name: str, suffixes: tuple[str, ...] = INDEX_SUFFIXES) -> list[str]:
    """The names an index of `file_name` may have, best first, lower-cased:
    `<name><suffix>` for each suffix, then `<stem><suffix>` for `.bai` and `.crai`."""
    name = file_name.lower()
    stem = name.rsplit(".", 1)[0]
    return [name + suffix for suffix in suffixes] + [
        stem + suffix for suffix in suffixes if suffix in STEM_SUFFIXES
    ]


def pick_index(
    file_name: str, others: Mapping[str, T], suffixes: tuple[str, ...] = INDEX_SUFFIXES
) -> T | None:
    """The index of `file_name` among `others` (the analysis's other files by lower-cased
    name), compared case-insensitively; None if it has none."""
    return next((others[name] for name in index_names(file_name, suffixes) if name in others), None)
