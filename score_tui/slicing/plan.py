"""Which bytes of a remote BAM or CRAM a region query needs, and fetching just those.

BAM: the header's BGZF blocks (read block by block from the start), the chunks the BAI gives
for each region (the last block of a chunk read whole, its size taken from its 18-byte header),
and the 28-byte EOF block. CRAM: the bytes before the first indexed container (file definition
and header container), the containers the CRAI lists for each region, and the EOF container.

Pure: the bytes come from a `ByteSource` (the client's sparse copy, or the broker's store), so
the broker's htsget tickets choose the same ranges as the client's `view`.
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass, field
from typing import Protocol

from score_tui.slicing.bai import BaiIndex
from score_tui.slicing.crai import CraiIndex
from score_tui.slicing.regions import Region

BGZF_HEADER = 18
BGZF_EOF = 28
CRAM_EOF = 38


def merge(ranges: list[tuple[int, int]], gap: int = 0) -> list[tuple[int, int]]:
    """Sorted, merged [start, end) ranges; ones less than `gap` apart are joined."""
    merged: list[tuple[int, int]] = []
    for start, end in sorted(r for r in ranges if r[1] > r[0]):
        if merged and start <= merged[-1][1] + gap:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


class ByteSource(Protocol):
    """Ranged reads of one object of `size` bytes; `fill` may fetch many ranges at once."""

    size: int

    async def read(self, start: int, length: int) -> bytes: ...

    async def fill(self, ranges: list[tuple[int, int]]) -> None: ...


class NotAlignments(ValueError):
    """The object is not the BAM or CRAM file it is said to be."""


@dataclass(slots=True)
class BamHeader:
    """Contig names and lengths, in order, and where the header's last BGZF block ends."""

    contigs: dict[str, int] = field(default_factory=dict)
    end: int = 0

    @property
    def names(self) -> list[str]:
        return list(self.contigs)


def bgzf_block_size(header: bytes) -> int:
    """The size of a BGZF block from its first 18 bytes (gzip header with the BC field)."""
    if len(header) < BGZF_HEADER or header[:4] != b"\x1f\x8b\x08\x04":
        raise NotAlignments("not BGZF-compressed (no BGZF block where one should start)")
    if header[12:14] != b"BC":
        raise NotAlignments("a BGZF block without its BC size field")
    size: int = struct.unpack_from("<H", header, 16)[0]
    return size + 1


def _inflate(block: bytes) -> bytes:
    return zlib.decompress(block[BGZF_HEADER:-8], wbits=-15)


def _parse_bam_header(data: bytes) -> dict[str, int] | None:
    """Contigs from the uncompressed start of a BAM; None while more bytes are needed."""
    if len(data) >= 4 and data[:4] != b"BAM\x01":
        raise NotAlignments("not a BAM file (no BAM magic)")
    try:
        (l_text,) = struct.unpack_from("<i", data, 4)
        at = 8 + l_text
        (n_ref,) = struct.unpack_from("<i", data, at)
        at += 4
        contigs = {}
        for _ in range(n_ref):
            (l_name,) = struct.unpack_from("<i", data, at)
            name = data[at + 4 : at + 4 + l_name - 1].decode()
            (l_ref,) = struct.unpack_from("<i", data, at + 4 + l_name)
            at += 8 + l_name
            contigs[name] = l_ref
    except struct.error:
        return None
    return contigs


async def read_bam_header(copy: ByteSource) -> BamHeader:
    """Fetch the header's blocks, one at a time from the start, and parse the contigs."""
    offset, data = 0, b""
    while offset < copy.size:
        size = bgzf_block_size(await copy.read(offset, BGZF_HEADER))
        block = await copy.read(offset, size)
        try:
            data += _inflate(block)
        except zlib.error as exc:
            raise NotAlignments(f"a damaged BGZF block at byte {offset} ({exc})") from None
        offset += size
        contigs = _parse_bam_header(data)
        if contigs is not None:
            return BamHeader(contigs, offset)
    raise NotAlignments("the BAM header does not end before the end of the file")


async def bam_ranges(
    copy: ByteSource, index: BaiIndex, header: BamHeader, regions: list[Region]
) -> list[tuple[int, int]]:
    """The byte ranges holding every record of `regions` (whole BGZF blocks)."""
    names = header.names
    chunks = [c for r in regions for c in index.chunks(names.index(r.contig), r.start, r.end)]
    # A chunk ending inside a block needs that block whole: learn its size from its header.
    open_ends = sorted({end >> 16 for _, end in chunks if end & 0xFFFF})
    await copy.fill([(block, block + BGZF_HEADER) for block in open_ends])
    sizes = {}
    for block in open_ends:
        sizes[block] = bgzf_block_size(await copy.read(block, BGZF_HEADER))
    ranges = []
    for start, end in chunks:
        last = end >> 16
        stop = last + sizes[last] if end & 0xFFFF else last
        ranges.append((start >> 16, stop))
    return ranges


async def fetch_bam(
    copy: ByteSource, index: BaiIndex, regions: list[Region], header: BamHeader
) -> None:
    ranges = await bam_ranges(copy, index, header, regions)
    await copy.fill([*ranges, (copy.size - BGZF_EOF, copy.size)])


def cram_header_end(index: CraiIndex, size: int) -> int:
    containers = index.containers()
    return containers[0] if containers else size - CRAM_EOF


def cram_ranges(
    index: CraiIndex, size: int, tids: dict[str, int], regions: list[Region]
) -> list[tuple[int, int]]:
    """Whole containers htslib reads for the regions; each ends where the next one starts
    (the last where the EOF container starts)."""
    starts = index.containers()
    following = dict(zip(starts, [*starts[1:], size - CRAM_EOF], strict=True))
    return [
        (container, following[container])
        for region in regions
        for container in index.containers_for(tids[region.contig], region.start, region.end)
    ]
