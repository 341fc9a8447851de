"""Open a BAM or CRAM (a sparse copy of a remote object, or a local file) and slice it.

Records come from htslib (pysam) exactly as `samtools view` gives them: region by region, in
the order asked, each region's records overlapping it (or, with `contained`, inside it).
"""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from score_tui.errors import ScoreTuiError
from score_tui.slicing.plan import NotAlignments
from score_tui.slicing.regions import Region

MODES = {"sam": "w", "bam": "wb", "cram": "wc"}


class SliceError(ScoreTuiError, ValueError):
    """A slice cannot be made; the message says why and what to do."""


def kind_of(name: str) -> str:
    lower = name.lower()
    if lower.endswith(".bam"):
        return "bam"
    if lower.endswith(".cram"):
        return "cram"
    raise SliceError(f"{name} is not a BAM or CRAM file (only .bam and .cram can be sliced)")


@contextlib.contextmanager
def opened(path: Path, kind: str, index: Path | None, reference: Path | None) -> Iterator[Any]:
    """The file opened with pysam; never reaches for a reference over the network."""
    import pysam

    if kind == "cram" and reference is None:
        raise SliceError("a CRAM needs its reference: give --reference-file FASTA (with .fai)")
    os.environ.setdefault("REF_PATH", ":")  # no EBI reference server lookups
    mode = "rb" if kind == "bam" else "rc"
    options: dict[str, Any] = {"check_sq": False}
    if index is not None:
        options["index_filename"] = str(index)
    if reference is not None:
        options["reference_filename"] = str(reference)
    try:
        handle = pysam.AlignmentFile(str(path), mode, **options)
    except (OSError, ValueError) as exc:
        raise NotAlignments(f"cannot read it as {kind.upper()} ({exc})") from None
    try:
        yield handle
    finally:
        handle.close()


def contigs(handle: Any) -> dict[str, int]:
    return dict(zip(handle.references, handle.lengths, strict=True))


def records(handle: Any, regions: list[Region], contained: bool) -> Iterator[Any]:
    for region in regions:
        for read in handle.fetch(region.contig, region.start, region.end):
            if contained and not (
                read.reference_start >= region.start
                and (read.reference_end or read.reference_start + 1) <= region.end
            ):
                continue
            yield read


def output_header(handle: Any, original: bool, command: str) -> Any:
    """The input's header as it is, with a @PG line for this slice unless the original is
    asked for (built from the header's text, so nothing is reordered)."""
    import pysam

    text = str(handle.header)
    if not original:
        taken = re.findall(r"^@PG\t(?:.*\t)?ID:([^\t\n]+)", text, re.MULTILINE)
        name, number = "score-tui", 1
        while name in taken:
            number += 1
            name = f"score-tui.{number}"
        flat = " ".join(command.split())  # no tab or newline may end up in the header line
        line = f"@PG\tID:{name}\tPN:score-tui\tCL:{flat}"
        if taken:
            line += f"\tPP:{taken[-1]}"
        text = f"{text.rstrip()}\n{line}\n" if text.strip() else f"{line}\n"
    return pysam.AlignmentHeader.from_text(text)


@dataclass(slots=True)
class SliceOutput:
    """Where a slice goes: a file (written beside it first, moved in at the end) or stdout."""

    path: Path | None
    format: str
    force: bool = False
    index: bool = False
    reference: Path | None = None

    def write(self, handle: Any, header: Any, reads: Iterator[Any]) -> int:
        import pysam

        fmt = "sam" if self.path is None else self.format
        if fmt == "cram" and self.reference is None:
            raise SliceError("CRAM output needs --reference-file FASTA")
        if self.path is not None and self.path.exists() and not self.force:
            raise SliceError(f"{self.path} already exists; use --force to overwrite it")
        target = self.path or Path("-")
        temp = target if self.path is None else target.with_name(f".{target.name}.partial")
        options: dict[str, Any] = {"header": header}
        if fmt == "cram":
            options["reference_filename"] = str(self.reference)
        count = 0
        try:
            with pysam.AlignmentFile(str(temp), MODES[fmt], **options) as out:
                for read in reads:
                    out.write(read)
                    count += 1
            if self.path is not None:
                if self.index and fmt != "sam":
                    pysam.index(str(temp), str(_index_name(self.path, fmt, temp=True)))
                os.replace(temp, self.path)
                if self.index and fmt != "sam":
                    os.replace(_index_name(self.path, fmt, temp=True), _index_name(self.path, fmt))
        finally:
            if self.path is not None:
                temp.unlink(missing_ok=True)
                _index_name(self.path, fmt, temp=True).unlink(missing_ok=True)
        return count


def _index_name(path: Path, fmt: str, temp: bool = False) -> Path:
    suffix = ".bai" if fmt == "bam" else ".crai"
    name = f".{path.name}.partial{suffix}" if temp else f"{path.name}{suffix}"
    return path.with_name(name)
