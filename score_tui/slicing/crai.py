"""The CRAI index: which CRAM containers hold the records of a region.

Each line of the (gzipped) index is a slice: reference id, alignment start (1-based) and span,
the container's byte offset, the slice's offset in the container and its size. Whole
containers are fetched: a slice cannot be decoded without its container's compression header.
"""

from __future__ import annotations

import gzip
import zlib
from dataclasses import dataclass

from score_tui.slicing.bai import IndexError_


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
            raise IndexError_(f"not a CRAI index ({exc})") from None
        slices = []
        for number, line in enumerate(text.splitlines(), 1):
            if not line.strip():
                continue
            try:
                fields = [int(f) for f in line.split("\t")]
                slices.append(CraiSlice(*fields[:6]))
            except (ValueError, TypeError):
                raise IndexError_(f"line {number} of the CRAI index is damaged") from None
        return cls(slices)

    def containers(self) -> list[int]:
        return sorted({s.container for s in self.slices})

    def containers_for(self, tid: int, beg: int, end: int) -> list[int]:
        """Containers with a slice overlapping [beg, end) (0-based) of reference `tid`."""
        return sorted(
            {
                s.container
                for s in self.slices
                if s.tid == tid and s.start <= end and s.start + s.span > beg
            }
        )
