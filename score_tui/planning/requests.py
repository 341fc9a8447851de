"""What a user asks for, typed and checked once: the batch command line and the terminal UI's
forms build these, and planning takes them.

A request that breaks a rule raises RequestError when it is made, with a one-line message that
names the options as the command line spells them (the forms' fields carry the same names).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from score_tui.client.naming import object_id_from
from score_tui.errors import ScoreTuiError

Access = Literal["open", "controlled"]
Layout = Literal["filename", "bundle", "id"]
SliceFormat = Literal["sam", "bam", "cram"]
ACCESS_LEVELS: tuple[Access, ...] = ("open", "controlled")
#: score-client's view --output-type values; it implements TRIMMED only, and so does this.
OUTPUT_TYPES = ("TRIMMED", "MERGED", "CROSS")
LAYOUTS: tuple[Layout, ...] = ("filename", "bundle", "id")


class RequestError(ScoreTuiError, ValueError):
    """A request whose options do not go together or are malformed."""


def _object_ids(ids: tuple[str, ...]) -> tuple[str, ...]:
    """The object ids, each given as a UUID or a DRS URI (drs://<host>/<uuid>)."""
    found = []
    for given in ids:
        object_id = object_id_from(given)
        if object_id is None:
            raise RequestError(
                f"{given} is not an object id (a UUID, or a DRS URI drs://<host>/<uuid>)"
            )
        found.append(object_id)
    return tuple(found)


@dataclass(frozen=True, slots=True)
class UploadRequest:
    """`upload`: one file by object id, a manifest of them, or files registered in a study."""

    files: tuple[Path, ...] = ()
    object_id: str | None = None
    md5: str | None = None
    manifest: str | None = None
    study: str | None = None
    access: Access = "controlled"
    publish: bool = False
    #: A JSON submission template for `study` (the files are added to it).
    payload: str | None = None
    donor: str = "donor-1"
    sample: str = "sample-1"
    force: bool = False
    verify_connection: bool = True

    @property
    def song_study(self) -> str:
        """The study the files are registered in (for a request with `study`)."""
        if not self.study:
            raise RequestError("this upload registers no files in Song (it has no --study)")
        return self.study

    def __post_init__(self) -> None:
        if self.study:
            if not self.files:
                raise RequestError("upload --study needs at least one --file")
        elif self.manifest:
            if self.object_id or self.files:
                raise RequestError("give either --manifest or --object-id with --file, not both")
        elif not (self.object_id and len(self.files) == 1):
            raise RequestError("upload needs --object-id with one --file, --manifest, or --study")
        if self.object_id is not None:
            (object_id,) = _object_ids((self.object_id,))
            object.__setattr__(self, "object_id", object_id)
        if self.access not in ACCESS_LEVELS:
            raise RequestError(f"--access must be open or controlled, not {self.access!r}")


@dataclass(frozen=True, slots=True)
class DownloadRequest:
    """`download`: objects by id, an 11-column manifest, or every file of an analysis."""

    object_ids: tuple[str, ...] = ()
    manifest: str | None = None
    analysis_id: str | None = None
    study_id: str | None = None
    output_dir: Path = field(default_factory=lambda: Path("."))
    output_layout: Layout = "filename"
    offset: int = 0
    length: int = -1
    #: Also download each file's index (.bai, .crai, .tbi, .csi).
    index: bool = True
    validate: bool = True
    force: bool = False
    verify_connection: bool = True

    def __post_init__(self) -> None:
        chosen = [self.object_ids, self.manifest, self.analysis_id]
        if sum(1 for c in chosen if c) != 1:
            raise RequestError(
                "download needs exactly one of --object-id, --manifest, --analysis-id"
            )
        if self.analysis_id and not self.study_id:
            raise RequestError("--analysis-id needs --study-id")
        if self.offset < 0 or self.length < -1 or self.length == 0:
            raise RequestError("--offset must be >= 0 and --length positive (or -1 for the rest)")
        if self.output_layout not in LAYOUTS:
            raise RequestError(f"--output-layout must be one of {', '.join(LAYOUTS)}")
        object.__setattr__(self, "object_ids", _object_ids(self.object_ids))


@dataclass(frozen=True, slots=True)
class SliceRequest:
    """`view`: regions of BAM or CRAM objects (or of a local file), written as SAM, BAM or CRAM."""

    object_ids: tuple[str, ...] = ()
    manifest: str | None = None
    input_file: str | None = None
    input_file_index: str | None = None
    queries: tuple[str, ...] = ()
    bed_query: str | None = None
    contained: bool = False
    header_only: bool = False
    output_original_header: bool = False
    output_format: SliceFormat | None = None
    output_dir: str | None = None
    output_file: str | None = None
    stdout: bool = False
    output_index: bool = False
    reference_file: str | None = None
    force: bool = False
    verify_connection: bool = True
    #: Whether a JSON summary goes to stdout too (then SAM cannot).
    json_summary: bool = False
    output_type: str = "TRIMMED"

    @property
    def several(self) -> bool:
        return bool(self.manifest) or len(self.object_ids) > 1

    @property
    def to_stdout(self) -> bool:
        return self.stdout or not (self.output_dir or self.output_file)

    def __post_init__(self) -> None:
        if self.output_type != "TRIMMED":
            raise RequestError(
                f"--output-type {self.output_type} is not implemented (nor is it in "
                "score-client); use TRIMMED, one slice per object"
            )
        if sum(1 for c in (self.object_ids, self.manifest, self.input_file) if c) != 1:
            raise RequestError("view needs exactly one of --object-id, --manifest, --input-file")
        if self.output_file and self.several:
            raise RequestError("--output-file takes one slice; use --output-dir for several")
        if sum(1 for c in (self.output_file, self.output_dir, self.stdout) if c) > 1:
            raise RequestError("give one of --output-dir, --output-file, --stdout")
        if not (self.queries or self.bed_query or self.header_only):
            raise RequestError("view needs --query, --bed-query or --header-only")
        if self.to_stdout and self.several:
            raise RequestError("stdout takes one slice; give --output-dir for several objects")
        if self.to_stdout and self.output_format not in (None, "sam"):
            raise RequestError(
                "stdout gets SAM; give --output-file or --output-dir for BAM or CRAM"
            )
        if self.to_stdout and self.json_summary:
            raise RequestError(
                "--json and SAM on stdout cannot share it; give --output-dir or --output-file"
            )
        object.__setattr__(self, "object_ids", _object_ids(self.object_ids))
