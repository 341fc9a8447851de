"""The one-step upload: register files with Song, upload them, and publish if asked."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from score_tui.batch.outcome import Outcome
from score_tui.client.errors import NotFound, TransferError
from score_tui.engine.hashing import md5_of_file
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


def default_payload(study: str, args: argparse.Namespace) -> dict[str, Any]:
    """A minimal sequencingRead submission; `--payload` gives a template for a real Song."""
    return {
        "studyId": study,
        "analysisType": {"name": "sequencingRead"},
        "samples": [
            {
                "submitterSampleId": args.sample,
                "sampleType": "Total DNA",
                "matchedNormalSubmitterSampleId": None,
                "specimen": {
                    "submitterSpecimenId": f"{args.sample}-specimen",
                    "specimenType": "Normal",
                    "specimenTissueSource": "Blood derived",
                    "tumourNormalDesignation": "Normal",
                },
                "donor": {"submitterDonorId": args.donor, "gender": "Other"},
            }
        ],
        "experiment": {"libraryStrategy": "Other"},
    }


@dataclass
class Registration:
    """An analysis just submitted to Song, to publish once its files are uploaded."""

    study: str
    analysis_id: str
    publish: bool

    async def finish(self, outcomes: list[Outcome], session: Workspace) -> None:
        """Publish the analysis if asked and every file is done; failures join `outcomes`."""
        session.note(f"analysis {self.analysis_id} in study {self.study}")
        if not self.publish:
            return
        if any(o.state != "done" for o in outcomes):
            outcomes.append(
                Outcome.failed(
                    self.analysis_id,
                    "publish",
                    f"analysis {self.analysis_id} was not published because a file did not upload; "
                    "run the upload again, then publish it",
                )
            )
            return
        try:
            await session.song.publish(self.study, self.analysis_id)
        except TransferError as exc:
            outcomes.append(Outcome.failed(self.analysis_id, "publish", str(exc)))
            return
        outcomes.append(Outcome(file=self.analysis_id, direction="publish", state="done"))
        session.note(f"[green]✓[/] published analysis {self.analysis_id}")


async def register_files(
    args: argparse.Namespace, session: Workspace
) -> tuple[list[tuple[str, Path, str]], Registration]:
    """Submit an analysis holding `--file`s to Song; returns (object id, path, md5) for each."""
    paths = [Path(f) for f in args.file]
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
    md5s = await asyncio.gather(*(_md5_file(p) for p in paths))
    payload = _template(args)
    payload["studyId"] = args.study
    payload["files"] = [
        {
            "fileName": path.name,
            "fileSize": path.stat().st_size,
            "fileMd5sum": md5,
            "fileAccess": args.access,
            "fileType": file_type(path.name)[0],
            "dataType": file_type(path.name)[1],
        }
        for path, md5 in zip(paths, md5s, strict=True)
    ]
    try:
        analysis_id = await session.song.submit(args.study, payload)
    except NotFound as exc:
        if "study.id.does.not.exist" not in str(exc):
            raise
        await session.song.create_study(args.study)  # a new study: create it, as a user would
        analysis_id = await session.song.submit(args.study, payload)
    files = await session.song.analysis_files(args.study, analysis_id)
    object_ids = {f.get("fileName"): f.get("objectId") for f in files if isinstance(f, dict)}
    missing = [p.name for p in paths if not object_ids.get(p.name)]
    if missing:
        raise TransferError(
            f"Song's analysis {analysis_id} lists no object id for {', '.join(missing)}"
        )
    entries = [(str(object_ids[p.name]), p, md5) for p, md5 in zip(paths, md5s, strict=True)]
    return entries, Registration(args.study, analysis_id, args.publish)


def _template(args: argparse.Namespace) -> dict[str, Any]:
    if not args.payload:
        return default_payload(args.study, args)
    try:
        template = json.loads(Path(args.payload).read_text())
    except (OSError, ValueError) as exc:
        raise TransferError(f"cannot read the payload template {args.payload}: {exc}") from None
    if not isinstance(template, dict):
        raise TransferError(f"the payload template {args.payload} must be a JSON object")
    return template


async def _md5_file(path: Path) -> str:
    fd = os.open(path, os.O_RDONLY)
    try:
        return await md5_of_file(fd, os.fstat(fd).st_size)
    finally:
        os.close(fd)
