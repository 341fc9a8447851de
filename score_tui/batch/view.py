"""`view`: slice BAM/CRAM objects (or a local file) by region, fetching only what is needed.

Output names follow score-client: `<dir>/<name>.<queries, ':' as '_', joined by '__'>.<ext>`
(at most 128 characters, cut with `~`), `<name>.header.<ext>` for the header alone, and the BED
file's name for `--bed-query`.
"""

from __future__ import annotations

import asyncio
import shlex
import sys
import tempfile
from pathlib import Path

from pysam.utils import SamtoolsError

from score_tui.batch.session import Session
from score_tui.client.errors import TransferError
from score_tui.planning.manifests import download_object_ids, read_manifest
from score_tui.planning.outcome import Outcome
from score_tui.planning.requests import SliceRequest
from score_tui.slicing.regions import Region, parse_queries, read_bed
from score_tui.slicing.remote import http_client
from score_tui.slicing.slicer import (
    SliceError,
    SliceOutput,
    kind_of,
    opened,
    output_header,
    records,
)
from score_tui.slicing.sources import SliceSource, local_source, remote_source
from score_tui.units import human_size

NAME_LIMIT = 128
#: What makes one object's slice fail without stopping the others (SliceError, RegionError and
#: NotAlignments are ValueErrors; pysam raises SamtoolsError and ValueError).
SLICE_ERRORS = (ValueError, TransferError, OSError, SamtoolsError)


def output_name(name: str, request: SliceRequest, ext: str) -> str:
    if request.header_only or not (request.queries or request.bed_query):
        middle = "header"
    elif request.bed_query:
        middle = Path(request.bed_query).name
    else:
        middle = "__".join(q.replace(":", "_") for q in request.queries)
    full = f"{name}.{middle}.{ext}"
    if len(full) > NAME_LIMIT:
        keep = NAME_LIMIT - len(ext) - 2
        full = f"{full[:keep]}~.{ext}"
    return full


def output_format(request: SliceRequest) -> str:
    """--output-format, else the --output-file's extension, else SAM."""
    if request.output_format:
        return str(request.output_format)
    suffix = Path(request.output_file).suffix.lower().lstrip(".") if request.output_file else ""
    return suffix if suffix in ("sam", "bam", "cram") else "sam"


def regions_of(request: SliceRequest, lengths: dict[str, int]) -> list[Region]:
    if request.header_only:
        return []
    regions = parse_queries(list(request.queries), lengths)
    if request.bed_query:
        regions += read_bed(Path(request.bed_query), lengths)
    return regions


def write_slice(
    source: SliceSource, regions: list[Region], request: SliceRequest
) -> tuple[int, Path | None]:
    """Write the slice of `source`; returns the number of records and the file (None: stdout)."""
    reference = Path(request.reference_file) if request.reference_file else None
    if request.to_stdout:
        path = None
    elif request.output_file:
        path = Path(request.output_file)
    else:
        named = output_name(source.name, request, output_format(request))
        path = Path(request.output_dir or ".") / named
        path.parent.mkdir(parents=True, exist_ok=True)
    output = SliceOutput(
        path, output_format(request), request.force, request.output_index, reference
    )
    command = shlex.join(["score-tui", *sys.argv[1:]])
    with opened(source.data, source.kind, source.index, source.reference) as handle:
        header = output_header(handle, request.output_original_header, command)
        if path is None:
            sys.stdout.flush()
        return output.write(handle, header, records(handle, regions, request.contained)), path


async def view(request: SliceRequest, session: Session) -> list[Outcome]:
    reference = Path(request.reference_file) if request.reference_file else None
    if reference is not None and not reference.is_file():
        raise SliceError(f"the reference {reference} does not exist")
    if request.input_file:
        index = Path(request.input_file_index) if request.input_file_index else None
        try:
            source = local_source(Path(request.input_file), index, reference)
        except SLICE_ERRORS as exc:
            return [Outcome.failed(Path(request.input_file).name, "view", str(exc))]
        return [await _slice(source, request, session)]
    if request.manifest:
        wanted = download_object_ids(
            read_manifest(request.manifest, session.settings.ca_file), request.manifest
        )
    else:
        wanted = list(dict.fromkeys(request.object_ids))
    outcomes = []
    with tempfile.TemporaryDirectory(prefix="score-tui-view-") as directory:
        async with http_client(session.settings.ca_file) as http:
            for number, object_id in enumerate(wanted):
                if request.manifest and not await _is_alignments(session, object_id):
                    continue  # a manifest's other files: not sliced
                place = Path(directory) / str(number)
                place.mkdir()
                try:
                    source = await remote_source(session, http, object_id, place, reference)
                    outcomes.append(await _slice(source, request, session))
                except SLICE_ERRORS as exc:
                    outcomes.append(Outcome.failed(object_id, "view", str(exc), object_id))
    if not outcomes:
        raise SliceError(f"the manifest {request.manifest} lists no BAM or CRAM file")
    return outcomes


async def _is_alignments(session: Session, object_id: str) -> bool:
    try:
        kind_of((await session.song.entity(object_id)).file_name)
    except SliceError:
        return False
    return True


async def _slice(source: SliceSource, request: SliceRequest, session: Session) -> Outcome:
    try:
        regions = regions_of(request, source.contigs)
        await source.prepare(regions)
        count, path = await asyncio.to_thread(write_slice, source, regions, request)
    except SLICE_ERRORS as exc:
        return Outcome.failed(source.name, "view", str(exc), source.object_id)
    where = str(path) if path else "stdout"
    if source.copy is not None:
        session.note(
            f"[green]✓[/] {source.name}: {count} records to {where}; fetched "
            f"{human_size(source.fetched)} of {human_size(source.copy.size)} "
            f"in {source.copy.requests} ranged requests (index included)"
        )
    else:
        session.note(f"[green]✓[/] {source.name}: {count} records to {where}")
    return Outcome(
        file=source.name,
        direction="view",
        state="done",
        object_id=source.object_id,
        path=str(path) if path else None,
        records=count,
        bytes_fetched=source.fetched if source.copy else None,
    )
