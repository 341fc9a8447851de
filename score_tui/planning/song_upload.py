"""The one-step upload: register files with Song, upload them, and publish if asked."""

from __future__ import annotations

import asyncio
import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from score_tui.client.errors import NotFound, Retryable, TransferError
from score_tui.engine.hashing import md5_of_file
from score_tui.engine.registrations import (
    RegisteredFile,
    RegistrationRecord,
    Registrations,
    RegistrationState,
)
from score_tui.planning.outcome import Outcome
from score_tui.planning.requests import UploadRequest
from score_tui.planning.reruns import adopt_analysis, earlier_registration
from score_tui.workspace import Workspace

SONG_FILE_NAME = re.compile(r"^[A-Za-z0-9_.\-\[\]()]+$")
FILE_TYPES = {
    ".bam": ("BAM", "Aligned Reads"),
    ".cram": ("CRAM", "Aligned Reads"),
    ".sam": ("SAM", "Aligned Reads"),
    ".bai": ("BAI", "Aligned Reads Index"),
    ".crai": ("CRAI", "Aligned Reads Index"),
    ".csi": ("CSI", "Index"),
    ".tbi": ("TBI", "Variant Calls Index"),
    ".vcf": ("VCF", "Variant Calls"),
    ".fastq": ("FASTQ", "Submitted Reads"),
    ".fq": ("FASTQ", "Submitted Reads"),
}


def file_type(name: str) -> tuple[str, str]:
    """Song's fileType and dataType from a file name (compression suffixes ignored)."""
    lower = name.lower()
    for compressed in (".gz", ".bz2", ".zst"):
        lower = lower.removesuffix(compressed)
    suffix = os.path.splitext(lower)[1]
    if suffix in FILE_TYPES:
        return FILE_TYPES[suffix]
    return (suffix.lstrip(".").upper() or "OTHER", "Other")


def default_payload(study: str, request: UploadRequest) -> dict[str, Any]:
    """A minimal sequencingRead submission; `--payload` gives a template for a real Song."""
    return {
        "studyId": study,
        "analysisType": {"name": "sequencingRead"},
        "samples": [
            {
                "submitterSampleId": request.sample,
                "sampleType": "Total DNA",
                "matchedNormalSubmitterSampleId": None,
                "specimen": {
                    "submitterSpecimenId": f"{request.sample}-specimen",
                    "specimenType": "Normal",
                    "specimenTissueSource": "Blood derived",
                    "tumourNormalDesignation": "Normal",
                },
                "donor": {"submitterDonorId": request.donor, "gender": "Other"},
            }
        ],
        "experiment": {"libraryStrategy": "Other"},
    }


@dataclass
class Registration:
    """An analysis this journal registered in Song, to publish once its files are uploaded."""

    record: RegistrationRecord

    @property
    def study(self) -> str:
        return self.record.study

    @property
    def analysis_id(self) -> str:
        return self.record.analysis_id or ""

    @property
    def publish(self) -> bool:
        return self.record.publish

    async def finish(self, outcomes: list[Outcome], session: Workspace) -> None:
        """Publish the analysis if asked and every file is uploaded (as the journal says, so
        files uploaded by an earlier run count); failures join `outcomes`."""
        session.note(f"analysis {self.analysis_id} in study {self.study}")
        registry = Registrations(session.journal)
        if not registry.uploaded(self.record):
            if self.publish:
                outcomes.append(
                    Outcome.failed(
                        self.analysis_id,
                        "publish",
                        f"analysis {self.analysis_id} was not published because a file did not "
                        "upload; run the same command again to finish and publish it",
                    )
                )
            return
        if self.record.state == RegistrationState.REGISTERED:
            self.record.state = RegistrationState.UPLOADED
            registry.save(self.record)
        if self.publish:
            outcomes.append(await self._publish_once(session, registry))

    async def _publish_once(self, session: Workspace, registry: Registrations) -> Outcome:
        """Publish unless Song has it published already (a run killed after publishing)."""
        try:
            analysis = await session.song.analysis(self.study, self.analysis_id)
            state = analysis.state
            if state == "SUPPRESSED":
                raise TransferError(
                    f"analysis {self.analysis_id} is suppressed in Song and cannot be published; "
                    "ask the study's Song administrators"
                )
            if state != "PUBLISHED":
                await session.song.publish(self.study, self.analysis_id)
        except TransferError as exc:
            return Outcome.failed(self.analysis_id, "publish", str(exc))
        self.record.state = RegistrationState.PUBLISHED
        registry.save(self.record)
        if state == "PUBLISHED":
            session.note(f"[green]✓[/] analysis {self.analysis_id} was already published")
            return Outcome(
                file=self.analysis_id,
                direction="publish",
                state="skipped",
                error=f"analysis {self.analysis_id} was already published",
            )
        session.note(f"[green]✓[/] published analysis {self.analysis_id}")
        return Outcome(file=self.analysis_id, direction="publish", state="done")


async def register_files(
    request: UploadRequest, session: Workspace
) -> tuple[list[tuple[str, Path, str]], Registration]:
    """Submit an analysis holding `--file`s to Song, or go on with the one an earlier run of the
    same command registered; returns (object id, path, md5) for each file."""
    paths = list(request.files)
    _check_files(paths)
    md5s = await asyncio.gather(*(_md5_file(p) for p in paths))
    files = [
        RegisteredFile(p.name, str(p.absolute()), p.stat().st_size, md5)
        for p, md5 in zip(paths, md5s, strict=True)
    ]
    registry = Registrations(session.journal)
    record = await earlier_registration(request, session, registry, files)
    if record is None:
        record = RegistrationRecord(
            study=request.song_study, server_url=session.api.server_url,
            metadata_url=session.song.metadata_url, files=files, publish=request.publish,
        )  # fmt: skip
        registry.add(record)  # committed before Song is asked: a rerun then knows to look
    record.publish = request.publish
    if record.analysis_id is None:
        await _submit(request, session, registry, record)
    else:
        registry.save(record)
        session.note(
            f"analysis {record.analysis_id} in study {record.study} holds these files already "
            "(an earlier run registered it): going on with it"
        )
    object_ids = {f.key: f.object_id for f in record.files}
    entries = [(str(object_ids[f.key]), p, f.md5) for f, p in zip(files, paths, strict=True)]
    return entries, Registration(record)


def _check_files(paths: list[Path]) -> None:
    names = [p.name for p in paths]
    for path in paths:
        if not path.is_file():
            raise TransferError(f"{path} does not exist or is not a file")
        if not SONG_FILE_NAME.match(path.name):
            raise TransferError(
                f"{path.name}: Song accepts only letters, digits and _ . - [ ] ( ) in file names; "
                "rename the file"
            )
        if path.stat().st_size == 0:
            raise TransferError(f"{path} is empty; Score does not store empty files")
    if len(set(names)) != len(names):
        raise TransferError("two of the files have the same name; an analysis needs unique names")


async def _submit(
    request: UploadRequest,
    session: Workspace,
    registry: Registrations,
    record: RegistrationRecord,
) -> None:
    """Register the record's files as a new analysis and write its id and object ids."""
    payload = _template(request)
    payload["studyId"] = request.song_study
    payload["files"] = [
        {
            "fileName": f.name,
            "fileSize": f.size,
            "fileMd5sum": f.md5,
            "fileAccess": request.access,
            "fileType": file_type(f.name)[0],
            "dataType": file_type(f.name)[1],
        }
        for f in record.files
    ]
    try:
        try:
            analysis_id = await session.song.submit(request.song_study, payload)
        except NotFound as exc:
            if "study.id.does.not.exist" not in str(exc):
                raise
            await session.song.create_study(
                request.song_study
            )  # a new study: create it, as a user would
            analysis_id = await session.song.submit(request.song_study, payload)
    except Retryable:
        raise  # Song may have registered it: a rerun looks for it
    except TransferError:
        registry.forget(record)  # refused: nothing was registered
        raise
    files = await session.song.analysis_files(request.song_study, analysis_id)
    record.analysis_id = analysis_id
    adopt_analysis(record, files)
    registry.save(record)


def _template(request: UploadRequest) -> dict[str, Any]:
    if not request.payload:
        return default_payload(request.song_study, request)
    try:
        template = json.loads(Path(request.payload).read_text())
    except (OSError, ValueError) as exc:
        raise TransferError(f"cannot read the payload template {request.payload}: {exc}") from None
    if not isinstance(template, dict):
        raise TransferError(f"the payload template {request.payload} must be a JSON object")
    return template


async def _md5_file(path: Path) -> str:
    fd = os.open(path, os.O_RDONLY)
    try:
        return await md5_of_file(fd, os.fstat(fd).st_size)
    finally:
        os.close(fd)
