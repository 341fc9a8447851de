"""The BAI index: which BGZF chunks hold the records of a region (SAM spec, section 5).

The chunks are chosen as htslib chooses them when it reads a region, so that the bytes fetched
are exactly the bytes htslib will read from the sparse copy: the bins overlapping the region,
their chunks cut to [min offset, max offset), where the linear index and the bins either side
of the region bound where its records can lie.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

from score_tui.errors import ScoreTuiError

#: The pseudo-bin holding per-reference statistics, not data.
META_BIN = 37450
MIN_SHIFT, LEVELS = 14, 5
#: The first bin of the smallest (16 kb) level, the number of bins, and the largest position.
FIRST_LEAF = 4681
N_BINS = 37449
MAX_POS = 1 << (MIN_SHIFT + 3 * LEVELS)
NO_LIMIT = 2**64 - 1


class BadIndex(ScoreTuiError, ValueError):
    """The index cannot be read."""


def parent(bin_id: int) -> int:
    return (bin_id - 1) >> 3


def level_of(bin_id: int) -> int:
    level = 0
    while bin_id:
        bin_id, level = parent(bin_id), level + 1
    return level


def first_of_level(level: int) -> int:
    return ((1 << (3 * level)) - 1) // 7


def reg2bins(beg: int, end: int) -> list[int]:
    """The bins that may hold records overlapping [beg, end) (SAM spec 5.3)."""
    end = min(end, MAX_POS) - 1
    bins = [0]
    for shift, offset in ((26, 1), (23, 9), (20, 73), (17, 585), (14, 4681)):
        bins.extend(range(offset + (beg >> shift), offset + (end >> shift) + 1))
    return bins


@dataclass(slots=True)
class ReferenceIndex:
    bins: dict[int, list[tuple[int, int]]] = field(default_factory=dict)
    linear: list[int] = field(default_factory=list)
    #: Per bin, the linear index's offset at the bin's first 16 kb window.
    loff: dict[int, int] = field(default_factory=dict)
    unmapped: int = 1

    def finish(self) -> None:
        """Fill empty linear-index windows and each bin's offset, as htslib does on loading."""
        first = next((i for i, offset in enumerate(self.linear) if offset), len(self.linear))
        for i in range(len(self.linear) - 1, first, -1):
            if self.linear[i - 1] == 0:
                self.linear[i - 1] = self.linear[i]
        for bin_id in self.bins:
            level = level_of(bin_id)
            bottom = (bin_id - first_of_level(level)) << (3 * (LEVELS - level))
            self.loff[bin_id] = self.linear[bottom] if bottom < len(self.linear) else 0

    def min_offset(self, beg: int) -> int:
        window = beg >> MIN_SHIFT
        bin_id = FIRST_LEAF + window
        while bin_id and bin_id not in self.bins:  # the nearest bin left of or above beg
            first = (parent(bin_id) << 3) + 1
            bin_id = bin_id - 1 if bin_id > first else parent(bin_id)
        found = bin_id if bin_id in self.bins else None
        offset = self.loff.get(found, 0) if found is not None else 0
        if window < len(self.linear):
            offset = max(offset, self.linear[window])
            if self.unmapped:  # unmapped reads are not in the linear index: look further back
                back = window - 1
                while back >= 0 and self.linear[back] >= offset:
                    back -= 1
                if back >= 0:
                    offset = self.linear[back]
                if found is not None and (offset < self.loff[found] or back < 0):
                    offset = self.loff[found]
        return offset

    def max_offset(self, end: int) -> int:
        if end > MAX_POS:
            return NO_LIMIT
        bin_id = FIRST_LEAF + ((end - 1) >> MIN_SHIFT) + 1
        if bin_id >= N_BINS:
            bin_id = 0
        while True:  # the nearest bin right of end, climbing at each first child
            while bin_id % 8 == 1:
                bin_id = parent(bin_id)
            if bin_id == 0:
                return NO_LIMIT
            chunks = self.bins.get(bin_id)
            if chunks:
                return chunks[0][0]
            bin_id += 1


@dataclass(slots=True)
class BaiIndex:
    references: list[ReferenceIndex]

    @classmethod
    def parse(cls, data: bytes) -> BaiIndex:
        if data[:4] != b"BAI\x01":
            raise BadIndex("not a BAI index (no BAI magic)")
        try:
            (n_ref,) = struct.unpack_from("<i", data, 4)
            at = 8
            references = []
            for _ in range(n_ref):
                reference = ReferenceIndex()
                (n_bin,) = struct.unpack_from("<i", data, at)
                at += 4
                for _ in range(n_bin):
                    bin_id, n_chunk = struct.unpack_from("<Ii", data, at)
                    at += 8
                    chunks = list(struct.iter_unpack("<QQ", data[at : at + 16 * n_chunk]))
                    at += 16 * n_chunk
                    if bin_id == META_BIN:
                        reference.unmapped = chunks[1][1] if len(chunks) > 1 else 1
                    else:
                        reference.bins[bin_id] = chunks
                (n_intv,) = struct.unpack_from("<i", data, at)
                at += 4
                reference.linear = list(struct.unpack_from(f"<{n_intv}Q", data, at))
                at += 8 * n_intv
                reference.finish()
                references.append(reference)
        except struct.error as exc:
            raise BadIndex(f"the BAI index is truncated or damaged ({exc})") from None
        return cls(references)

    def chunks(self, tid: int, beg: int, end: int) -> list[tuple[int, int]]:
        """Merged virtual-offset chunks [start, end) holding every record overlapping the region."""
        if not 0 <= tid < len(self.references) or beg >= MAX_POS:
            return []
        reference = self.references[tid]
        if not reference.bins:
            return []
        low, high = reference.min_offset(beg), reference.max_offset(end)
        found = sorted(
            (max(start, low), min(stop, high))
            for bin_id in reg2bins(beg, end)
            for start, stop in reference.bins.get(bin_id, ())
            if stop > low and start < high
        )
        merged: list[tuple[int, int]] = []
        for start, stop in found:
            if merged and start <= merged[-1][1]:
                merged[-1] = (merged[-1][0], max(merged[-1][1], stop))
            else:
                merged.append((start, stop))
        return merged
