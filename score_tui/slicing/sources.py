"""What a slice reads from: a remote object (with its index found through Song) or a local file.

A remote source is a sparse local copy holding the header and the EOF marker at first;
`prepare()` adds the bytes the regions need. Nothing else of the object is fetched.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from score_tui.client.errors import CertificateRefused, TransferError, network_error
from score_tui.client.naming import index_of
from score_tui.engine.dataplane import store_error
from score_tui.slicing.bai import BadIndex, BaiIndex
from score_tui.slicing.crai import CraiIndex
from score_tui.slicing.plan import (
    BGZF_EOF,
    CRAM_EOF,
    BamHeader,
    cram_header_end,
    cram_ranges,
    fetch_bam,
    read_bam_header,
)
from score_tui.slicing.regions import Region
from score_tui.slicing.remote import SparseCopy
from score_tui.slicing.slicer import SliceError, contigs, kind_of, opened
from score_tui.workspace import Workspace


@dataclass(slots=True)
class SliceSource:
    """A BAM or CRAM and its index, ready to be opened by pysam."""

    name: str
    kind: str
    data: Path
    index: Path | None
    reference: Path | None = None
    object_id: str | None = None
    copy: SparseCopy | None = None
    contigs: dict[str, int] = field(default_factory=dict)
    bam_header: BamHeader | None = None
    bai: BaiIndex | None = None
    crai: CraiIndex | None = None
    #: The index's size: fetched whole, it counts in the bytes a slice cost.
    index_bytes: int = 0

    @property
    def size(self) -> int:
        return self.copy.size if self.copy else self.data.stat().st_size

    @property
    def requests(self) -> int:
        return self.copy.requests if self.copy else 0

    @property
    def fetched(self) -> int:
        """Bytes fetched so far: the index and the object's ranges."""
        return self.index_bytes + (self.copy.fetched if self.copy else 0)

    async def prepare(self, regions: list[Region]) -> None:
        """Fetch what the regions need (nothing for a local file)."""
        if self.copy is None or not regions:
            return
        try:
            await self._fetch(regions)
        finally:  # htslib warns of an index older than its data file
            os.utime(self.data, (0, 0))

    async def _fetch(self, regions: list[Region]) -> None:
        assert self.copy is not None
        if self.kind == "bam":
            assert self.bai is not None
            assert self.bam_header is not None
            await fetch_bam(self.copy, self.bai, regions, self.bam_header)
        else:
            assert self.crai is not None
            tids = {name: number for number, name in enumerate(self.contigs)}
            await self.copy.fill(cram_ranges(self.crai, self.copy.size, tids, regions))


def local_source(path: Path, index: Path | None, reference: Path | None) -> SliceSource:
    if not path.is_file():
        raise SliceError(f"{path} does not exist or is not a file")
    kind = kind_of(path.name)
    if index is None:
        suffix = ".bai" if kind == "bam" else ".crai"
        for candidate in (Path(f"{path}{suffix}"), path.with_suffix(suffix)):
            if candidate.is_file():
                index = candidate
                break
    if index is None:
        raise SliceError(f"no index beside {path}: give --input-file-index (samtools index)")
    source = SliceSource(path.name, kind, path, index, reference)
    with opened(path, kind, index, reference) as handle:
        source.contigs = contigs(handle)
    return source


async def _get_whole(http: httpx.AsyncClient, url: str, what: str) -> bytes:
    try:
        response = await http.get(url)
    except httpx.HTTPError as exc:
        error = network_error(what, exc)
        if isinstance(error, CertificateRefused):
            raise error from exc
        raise TransferError(f"{what}: cannot reach the store ({exc})") from exc
    if response.status_code != 200:
        raise store_error(what, response)
    return response.content


async def remote_source(
    ws: Workspace,
    http: httpx.AsyncClient,
    object_id: str,
    directory: Path,
    reference: Path | None,
) -> SliceSource:
    """Find the object's index through Song, fetch it, and start the sparse copy."""
    entity = await ws.song.entity(object_id)
    kind = kind_of(entity.file_name)
    siblings = await ws.song.entities(gnosId=entity.gnos_id) if entity.gnos_id else []
    index_entity = index_of(entity, siblings)
    if index_entity is None or not index_entity.file_name.lower().endswith((".bai", ".crai")):
        raise SliceError(
            f"{entity.file_name}: analysis {entity.gnos_id} holds no .bai or .crai index; "
            "upload one (samtools index), or download the whole file"
        )
    size = (await ws.api.download_spec(object_id, 0, -1)).object_size
    data_url = await _external_url(ws, object_id)
    index_url = await _external_url(ws, index_entity.id)
    index_data = await _get_whole(http, index_url, f"index {index_entity.file_name}")
    index_path = directory / index_entity.file_name
    index_path.write_bytes(index_data)
    data_path = directory / entity.file_name
    copy = SparseCopy(data_url, size, data_path, http)
    source = SliceSource(
        entity.file_name, kind, data_path, index_path, reference, object_id, copy,
        index_bytes=len(index_data),
    )  # fmt: skip
    try:
        if kind == "bam":
            source.bai = BaiIndex.parse(index_data)
            source.bam_header = await read_bam_header(copy)
            await copy.fill([(size - BGZF_EOF, size)])
            source.contigs = source.bam_header.contigs
            os.utime(data_path, (0, 0))
        else:
            source.crai = CraiIndex.parse(index_data)
            await copy.fill([(0, cram_header_end(source.crai, size)), (size - CRAM_EOF, size)])
            os.utime(data_path, (0, 0))
            with opened(data_path, kind, index_path, reference) as handle:
                source.contigs = contigs(handle)
    except BadIndex as exc:
        raise SliceError(f"{index_entity.file_name}: {exc}") from None
    return source


async def _external_url(ws: Workspace, object_id: str) -> str:
    spec = await ws.api.download_spec(object_id, 0, -1, external=True)
    if len(spec.parts) != 1 or not spec.parts[0].url:
        raise TransferError(f"the broker gave no URL for {object_id}")
    return spec.parts[0].url
