"""BAM and CRAM test files made with pysam: several contigs, reads crossing the 16 kb bin
boundaries, a stretch without reads, placed and unplaced unmapped reads; and their reference."""

from __future__ import annotations

import random
from dataclasses import dataclass
from pathlib import Path

import pysam

CONTIGS = [("chr1", 400_000), ("chr2", 250_000), ("chr3", 120_000)]
#: chr2 has no read starting here (reads from before may reach 100 bases into it).
DESERT = ("chr2", 100_000, 140_000)
READ = 100


@dataclass(frozen=True)
class AlignmentFiles:
    reference: Path
    bam: Path
    bai: Path
    cram: Path
    crai: Path


def _reference(path: Path, rng: random.Random) -> dict[str, str]:
    sequences = {name: "".join(rng.choices("ACGT", k=length)) for name, length in CONTIGS}
    with open(path, "w") as fasta:
        for name, sequence in sequences.items():
            fasta.write(f">{name}\n")
            for start in range(0, len(sequence), 70):
                fasta.write(sequence[start : start + 70] + "\n")
    pysam.faidx(str(path))
    return sequences


def _positions(rng: random.Random, name: str, length: int, count: int) -> list[int]:
    positions = [rng.randrange(0, length - READ) for _ in range(count)]
    # Reads across every 16 kb bin boundary, the smallest bins of the BAI.
    positions += [b - 40 for b in range(16_384, length - READ, 16_384)]
    if name == DESERT[0]:
        positions = [p for p in positions if not DESERT[1] <= p < DESERT[2]]
    return sorted(positions)


def write_alignments(directory: Path, reads: int = 40_000, seed: int = 5) -> AlignmentFiles:
    rng = random.Random(seed)
    directory.mkdir(parents=True, exist_ok=True)
    reference = directory / "ref.fa"
    sequences = _reference(reference, rng)
    header = {
        "HD": {"VN": "1.6", "SO": "coordinate"},
        "SQ": [{"SN": name, "LN": length} for name, length in CONTIGS],
        "RG": [{"ID": "rg1", "SM": "sample1"}, {"ID": "rg2", "SM": "sample1"}],
    }
    bam = directory / "sample.bam"
    total = sum(length for _, length in CONTIGS)
    number = 0
    with pysam.AlignmentFile(str(bam), "wb", header=header) as out:
        for tid, (name, length) in enumerate(CONTIGS):
            for position in _positions(rng, name, length, reads * length // total):
                number += 1
                read = pysam.AlignedSegment(out.header)
                read.query_name = f"r{number:07d}"
                sequence = list(sequences[name][position : position + READ])
                sequence[rng.randrange(READ)] = rng.choice("ACGT")
                read.query_sequence = "".join(sequence)
                read.query_qualities = pysam.qualitystring_to_array("I" * READ)
                read.reference_id, read.reference_start = tid, position
                read.set_tag("RG", rng.choice(("rg1", "rg2")))
                if rng.random() < 0.01:  # unmapped, placed at its mate's position
                    read.flag = 4 | 1 | 64
                else:
                    read.flag = rng.choice((0, 16))
                    read.mapping_quality = rng.choice((60, 60, 37, 0))
                    read.cigarstring = f"{READ}M"
                out.write(read)
        for _ in range(50):  # unplaced unmapped reads, at the end
            number += 1
            read = pysam.AlignedSegment(out.header)
            read.query_name = f"u{number:07d}"
            read.query_sequence = "".join(rng.choices("ACGT", k=READ))
            read.query_qualities = pysam.qualitystring_to_array("#" * READ)
            read.flag, read.reference_id, read.reference_start = 4, -1, -1
            out.write(read)
    pysam.index(str(bam))
    cram = directory / "sample.cram"
    pysam.view(
        "-C", "-T", str(reference), "--output-fmt-option", "seqs_per_slice=2000",
        "-o", str(cram), str(bam), catch_stdout=False,
    )  # fmt: skip
    pysam.index(str(cram))
    return AlignmentFiles(reference, bam, Path(f"{bam}.bai"), cram, Path(f"{cram}.crai"))
