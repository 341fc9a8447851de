"""GA4GH htsget 1.3 tickets for reads: which bytes of a BAM or CRAM hold a region.

The ranges are the ones the client's `view` fetches (`score_tui.slicing.plan`, pure code shared
with the broker): the header, the BAI chunks or CRAI containers of the region, and the EOF
block. The header and the EOF block are inlined as `data:` URLs (the broker reads them anyway
to learn the contigs); the rest are pre-signed GET URLs of the object with a Range header.
The index is the `.bai`/`.crai` beside the file in its Song analysis, as the client finds it.
"""

from __future__ import annotations

import base64
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio
import pysam

from score_broker import metrics
from score_broker.errors import BrokerError
from score_broker.metadata import Entity, Metadata
from score_broker.services.url_lifetimes import UrlLifetime
from score_broker.storage.base import ObjectStore
from score_tui.index_names import pick_index
from score_tui.slicing.bai import BadIndex, BaiIndex
from score_tui.slicing.crai import CraiIndex
from score_tui.slicing.plan import (
    BGZF_EOF,
    CRAM_EOF,
    NotAlignments,
    bam_ranges,
    cram_header_end,
    cram_ranges,
    merge,
    read_bam_header,
)
from score_tui.slicing.regions import Region

FORMATS = {"BAM": ".bam", "CRAM": ".cram"}
INDEXES = {"BAM": ".bai", "CRAM": ".crai"}
#: Headers larger than this are given as a URL, not inline.
INLINE_LIMIT = 1 << 20


#: htsget's error names and their HTTP statuses.
ERROR_STATUS = {
    "InvalidAuthentication": 401,
    "PermissionDenied": 403,
    "NotFound": 404,
    "UnsupportedFormat": 400,
    "InvalidInput": 400,
    "InvalidRange": 400,
}


class HtsgetError(BrokerError):
    """A refusal in htsget's terms: `kind` is the spec's error name."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind
        self.status = ERROR_STATUS[kind]


@dataclass(frozen=True, slots=True)
class ReadsQuery:
    """One ticket request: a format, optionally a reference and 0-based half-open range."""

    format: str = "BAM"
    reference_name: str | None = None
    start: int | None = None
    end: int | None = None
    header_only: bool = False


class StoredObject:
    """A data object read through the store, as the planner reads its byte source."""

    def __init__(self, store: ObjectStore, key: str, size: int) -> None:
        self.store, self.key, self.size = store, key, size

    async def read(self, start: int, length: int) -> bytes:
        end = min(self.size, start + length)
        return await anyio.to_thread.run_sync(self.store.read_range, self.key, start, end)

    async def fill(self, ranges: list[tuple[int, int]]) -> None:
        """Nothing to fetch ahead: every read goes to the store."""


def _data_url(data: bytes) -> str:
    return "data:application/octet-stream;base64," + base64.b64encode(data).decode("ascii")


def cram_contigs(header: bytes, eof: bytes) -> dict[str, int]:
    """Contigs of a CRAM from its file definition and header container (read by htslib)."""
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "header.cram"
        path.write_bytes(header + eof)
        try:
            with pysam.AlignmentFile(str(path), "rc", check_sq=False) as handle:
                return dict(zip(handle.references, handle.lengths, strict=True))
        except (OSError, ValueError) as error:
            raise NotAlignments(f"the CRAM header cannot be read ({error})") from None


class HtsgetService:
    """Answers htsget reads tickets for objects the caller may download."""

    def __init__(
        self,
        store: ObjectStore,
        object_key: Callable[[str], str],
        metadata: Metadata | None,
        url_lifetime: UrlLifetime,
    ) -> None:
        self.store = store
        self.object_key = object_key
        self.metadata = metadata
        self.url_lifetime = url_lifetime

    def _index(self, entity: Entity, data_format: str) -> Entity:
        assert self.metadata is not None
        siblings = self.metadata.analysis_files(entity.gnos_id)
        others = {s.file_name.lower(): s for s in siblings if s.id != entity.id}
        index = pick_index(entity.file_name, others, (INDEXES[data_format],))
        if index is None:
            raise HtsgetError(
                "NotFound",
                f"{entity.file_name}: its analysis holds no {INDEXES[data_format]} index; upload "
                "one (samtools index) to serve regions of it.",
            )
        return index

    def _size(self, object_id: str) -> int:
        head = self.store.head(self.object_key(object_id))
        if head is None:
            raise HtsgetError("NotFound", f"Object {object_id} is not in the store.")
        return head.size

    async def ticket(self, entity: Entity, query: ReadsQuery) -> dict[str, Any]:
        """The ticket for `query` on `entity` (already authorized and published)."""
        if not entity.file_name.lower().endswith(FORMATS[query.format]):
            raise HtsgetError(
                "UnsupportedFormat",
                f"{entity.file_name} is not {query.format}; ask for the format of the file.",
            )
        index_entity = await anyio.to_thread.run_sync(self._index, entity, query.format)
        size = await anyio.to_thread.run_sync(self._size, entity.id)
        index_size = await anyio.to_thread.run_sync(self._size, index_entity.id)
        source = StoredObject(self.store, self.object_key(entity.id), size)
        index_data = await StoredObject(
            self.store, self.object_key(index_entity.id), index_size
        ).read(0, index_size)
        try:
            if query.format == "BAM":
                header_end, eof_size, body = await self._bam(source, index_data, query)
            else:
                header_end, eof_size, body = await self._cram(source, index_data, query)
        except BadIndex as error:
            raise HtsgetError("NotFound", f"{index_entity.file_name}: {error}") from None
        except NotAlignments as error:
            raise HtsgetError("UnsupportedFormat", f"{entity.file_name}: {error}") from None
        header = await source.read(0, header_end)
        eof = await source.read(size - eof_size, eof_size)
        urls = [self._piece(source, 0, header_end, header, "header")]
        if not query.header_only:
            body = merge(
                [(max(start, header_end), min(end, size - eof_size)) for start, end in body]
            )
            urls += [self._piece(source, start, end, None, "body") for start, end in body]
            urls.append({"url": _data_url(eof), "class": "body"})
        return {"htsget": {"format": query.format, "urls": urls}}

    def _piece(
        self, source: StoredObject, start: int, end: int, data: bytes | None, kind: str
    ) -> dict[str, Any]:
        if data is not None and len(data) <= INLINE_LIMIT:
            return {"url": _data_url(data), "class": kind}
        url = self.store.sign_get(source.key, self.url_lifetime(), (start, end - 1))
        metrics.signed("htsget")
        return {"url": url, "headers": {"Range": f"bytes={start}-{end - 1}"}, "class": kind}

    async def _bam(
        self, source: StoredObject, index_data: bytes, query: ReadsQuery
    ) -> tuple[int, int, list[tuple[int, int]]]:
        index = BaiIndex.parse(index_data)
        header = await read_bam_header(source)
        region = _region(query, header.contigs)
        if region is None:
            return header.end, BGZF_EOF, [(header.end, source.size - BGZF_EOF)]
        return header.end, BGZF_EOF, await bam_ranges(source, index, header, [region])

    async def _cram(
        self, source: StoredObject, index_data: bytes, query: ReadsQuery
    ) -> tuple[int, int, list[tuple[int, int]]]:
        index = CraiIndex.parse(index_data)
        header_end = cram_header_end(index, source.size)
        header = await source.read(0, header_end)
        eof = await source.read(source.size - CRAM_EOF, CRAM_EOF)
        contigs = await anyio.to_thread.run_sync(cram_contigs, header, eof)
        region = _region(query, contigs)
        if region is None:
            return header_end, CRAM_EOF, [(header_end, source.size - CRAM_EOF)]
        tids = {name: number for number, name in enumerate(contigs)}
        return header_end, CRAM_EOF, cram_ranges(index, source.size, tids, [region])


def _region(query: ReadsQuery, contigs: dict[str, int]) -> Region | None:
    """The query's region on the file's contigs; None for the whole file."""
    if query.reference_name is None:
        return None
    if query.reference_name not in contigs:
        raise HtsgetError("NotFound", f"The file has no reference {query.reference_name!r}.")
    length = contigs[query.reference_name]
    start = query.start or 0
    end = length if query.end is None else min(query.end, length)
    if start >= length:
        raise HtsgetError(
            "InvalidRange",
            f"{query.reference_name} has {length} positions; start {start} is past it.",
        )
    return Region(query.reference_name, start, end)
