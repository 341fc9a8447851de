"""Regions as people type them (`chr20:1,000,000-1,200,000`, `chr20:5000`, `chr20`) and BED.

Coordinates typed are 1-based and inclusive, as samtools takes them; a Region holds 0-based,
half-open ones, as BAM indexes and pysam use.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

_QUERY = re.compile(r"^(?P<contig>[^:\s]+?)(?::(?P<start>[\d,_]+)(?:-(?P<end>[\d,_]+))?)?$")


class RegionError(ValueError):
    """A region cannot be used; the message says which and why."""


@dataclass(frozen=True, slots=True)
class Region:
    contig: str
    start: int  # 0-based, inclusive
    end: int  # 0-based, exclusive

    def __str__(self) -> str:
        return f"{self.contig}:{self.start + 1}-{self.end}"

    @property
    def label(self) -> str:
        """For file names: `chr20_1000-2000`."""
        return f"{self.contig}_{self.start + 1}-{self.end}"


def _number(text: str, query: str) -> int:
    digits = text.replace(",", "").replace("_", "")
    if not digits.isdigit():
        raise RegionError(f"{query!r}: {text!r} is not a position")
    return int(digits)


def parse_query(query: str, lengths: Mapping[str, int]) -> Region:
    """One region; `lengths` are the contigs of the file's header and their lengths."""
    text = query.strip()
    match = _QUERY.match(text)
    if not match:
        raise RegionError(f"{query!r} is not a region such as chr20:1,000,000-1,200,000")
    contig = match["contig"]
    if contig not in lengths:
        known = ", ".join(list(lengths)[:8]) + (" ..." if len(lengths) > 8 else "")
        raise RegionError(f"{query!r}: no contig {contig!r} in the file (contigs: {known})")
    length = lengths[contig]
    start = _number(match["start"], query) if match["start"] else 1
    end = _number(match["end"], query) if match["end"] else length
    if start < 1:
        raise RegionError(f"{query!r}: positions start at 1")
    if end < start:
        raise RegionError(f"{query!r}: the end ({end:,}) is before the start ({start:,})")
    if start > length:
        raise RegionError(f"{query!r}: {contig} has {length:,} positions, fewer than {start:,}")
    return Region(contig, start - 1, min(end, length))


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
        if not (start.isdigit() and end.isdigit()):
            raise RegionError(f"{path}:{number}: start and end must be numbers")
        regions.append(parse_query(f"{contig}:{int(start) + 1}-{end}", lengths))
    if not regions:
        raise RegionError(f"the BED file {path} holds no region")
    return regions
