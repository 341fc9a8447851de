"""Regions as people type them (`chr20:1,000,000-1,200,000`, `chr20:5000`, `chr20`) and BED.

Coordinates typed are 1-based and inclusive, as samtools takes them; a Region holds 0-based,
half-open ones, as BAM indexes and pysam use.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from score_tui.errors import ScoreTuiError

_SPAN = re.compile(r"^(?:(?P<start>[\d,_]+)(?:-(?P<end>[\d,_]+)?)?)?$")


class RegionError(ScoreTuiError, ValueError):
    """A region cannot be used; the message says which and why."""


@dataclass(frozen=True, slots=True)
class Region:
    contig: str
    start: int  # 0-based, inclusive
    end: int  # 0-based, exclusive

    def __str__(self) -> str:
        return f"{self.contig}:{self.start + 1}-{self.end}"


def _number(text: str, query: str) -> int:
    digits = text.replace(",", "").replace("_", "")
    if not digits.isdigit():
        raise RegionError(f"{query!r}: {text!r} is not a position")
    return int(digits)


def _split(text: str, lengths: Mapping[str, int]) -> tuple[str, str]:
    """Contig and range text; contig names may hold ':' (HLA contigs), or be written {name}."""
    if text in lengths:
        return text, ""
    if text.startswith("{") and "}" in text:
        contig, rest = text[1 : text.index("}")], text[text.index("}") + 1 :]
        return contig, rest.removeprefix(":") if rest.startswith(":") else rest
    contig, colon, rest = text.rpartition(":")
    return (contig, rest) if colon else (text, "")


def parse_query(query: str, lengths: Mapping[str, int]) -> Region:
    """One region; `lengths` are the contigs of the file's header and their lengths."""
    text = query.strip()
    contig, span = _split(text, lengths)
    match = _SPAN.match(span)
    if not contig or not match:
        raise RegionError(f"{query!r} is not a region such as chr20:1,000,000-1,200,000")
    if contig not in lengths:
        known = ", ".join(list(lengths)[:8]) + (" ..." if len(lengths) > 8 else "")
        raise RegionError(f"{query!r}: no contig {contig!r} in the file (contigs: {known})")
    length = lengths[contig]
    start = _number(match["start"], query) if match["start"] else 1
    end = _number(match["end"], query) if match["end"] else length
    return _region(query, contig, start - 1, end, length)


def _region(query: str, contig: str, start: int, end: int, length: int) -> Region:
    """Checks 0-based [start, end) against the contig's length."""
    if start < 0:
        raise RegionError(f"{query!r}: positions start at 1")
    if end <= start:
        raise RegionError(f"{query!r}: the end ({end:,}) is before the start ({start + 1:,})")
    if start >= length:
        raise RegionError(f"{query!r}: {contig} has {length:,} positions, fewer than {start + 1:,}")
    return Region(contig, start, min(end, length))


def parse_queries(queries: Iterable[str], lengths: Mapping[str, int]) -> list[Region]:
    return [parse_query(q, lengths) for q in queries]


def read_bed(path: Path, lengths: Mapping[str, int]) -> list[Region]:
    """BED regions (0-based starts, exclusive ends); header, track and comment lines skipped."""
    regions = []
    try:
        lines = path.read_text().splitlines()
    except OSError as exc:
        raise RegionError(f"cannot read the BED file {path}: {exc.strerror}") from None
    for number, line in enumerate(lines, 1):
        if not line.strip() or line.startswith(("#", "track", "browser")):
            continue
        fields = line.split("\t") if "\t" in line else line.split()
        if len(fields) < 3:
            raise RegionError(f"{path}:{number}: a BED line needs contig, start and end")
        contig, start, end = fields[0], fields[1], fields[2]
        where = f"{path.name} line {number}"
        if not (start.isdigit() and end.isdigit()):
            raise RegionError(f"{where}: start and end must be numbers")
        if contig not in lengths:
            raise RegionError(f"{where}: no contig {contig!r} in the file")
        regions.append(_region(where, contig, int(start), int(end), lengths[contig]))
    if not regions:
        raise RegionError(f"the BED file {path} holds no region")
    return regions
