"""The CRAI index: which CRAM containers hold the records of a region.

Each line of the (gzipped) index is a slice: reference id, alignment start (1-based) and span,
the container's byte offset, the slice's offset in the container and its size. Whole
containers are fetched: a slice cannot be decoded without its container's compression header.
"""

from __future__ import annotations

import gzip
import zlib
from dataclasses import dataclass

from score_tui.slicing.bai import BadIndex


@dataclass(frozen=True, slots=True)
class CraiSlice:
    tid: int
    start: int  # 1-based
    span: int
    container: int
    slice_offset: int
    slice_size: int


@dataclass(slots=True)
class CraiIndex:
    slices: list[CraiSlice]

    @classmethod
    def parse(cls, data: bytes) -> CraiIndex:
        try:
            text = gzip.decompress(data).decode("ascii")
        except (OSError, EOFError, zlib.error, UnicodeDecodeError) as exc:
            raise BadIndex(f"not a CRAI index ({exc})") from None
        slices = []
        for number, line in enumerate(text.splitlines(), 1):
            if not line.strip():
                continue
            try:
                fields = [int(f) for f in line.split("\t")]
                slices.append(CraiSlice(*fields[:6]))
            except (ValueError, TypeError):
                raise BadIndex(f"line {number} of the CRAI index is damaged") from None
        return cls(slices)

    def containers(self) -> list[int]:
        return sorted({s.container for s in self.slices})

    def containers_for(self, tid: int, beg: int, end: int) -> list[int]:
        """The containers htslib reads for [beg, end) (0-based) of reference `tid`: from the
        first with a slice ending after `beg`, every container in file order, up to and with
        the first whose slices all start at or after `end` (where it sees the region end)."""
        slices = sorted((s for s in self.slices if s.tid == tid), key=lambda s: s.container)
        first = next((s.container for s in slices if s.start - 1 + s.span > beg), None)
        if first is None:
            return []
        starts = {
            c: min(s.start for s in slices if s.container == c)
            for c in {s.container for s in slices}
        }
        after = [c for c in sorted(starts) if c >= first and starts[c] - 1 >= end]
        everything = self.containers()
        if after:
            last = after[0]
        else:  # the region runs to the contig's end: htslib reads on to the next container
            later = [c for c in everything if c > max(starts)]
            last = later[0] if later else max(starts)
        return [c for c in everything if first <= c <= last]
