"""Regions as typed and in BED files, and which CRAM containers a region needs."""

from __future__ import annotations

from pathlib import Path

import pytest

from score_tui.slicing.crai import CraiIndex, CraiSlice
from score_tui.slicing.regions import Region, RegionError, parse_query, read_bed

CONTIGS = {"chr1": 1000, "HLA-A*01:01:01:01": 500}


@pytest.mark.parametrize(
    ("query", "region"),
    [
        ("chr1", Region("chr1", 0, 1000)),
        ("chr1:10", Region("chr1", 9, 1000)),
        ("chr1:1,0-2_0", Region("chr1", 9, 20)),
        ("chr1:10-10", Region("chr1", 9, 10)),
        ("chr1:900-5000", Region("chr1", 899, 1000)),
        ("HLA-A*01:01:01:01", Region("HLA-A*01:01:01:01", 0, 500)),
        ("HLA-A*01:01:01:01:5-9", Region("HLA-A*01:01:01:01", 4, 9)),
        ("{HLA-A*01:01:01:01}:5-9", Region("HLA-A*01:01:01:01", 4, 9)),
    ],
)
def test_queries(query: str, region: Region) -> None:
    assert parse_query(query, CONTIGS) == region


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("chrX:1-10", "no contig 'chrX'"),
        ("chr1:20-10", "before the start"),
        ("chr1:abc", "is not a region"),
        ("chr1:2000-3000", "fewer than 2,000"),
        ("chr1:0-10", "start at 1"),
    ],
)
def test_bad_queries(query: str, message: str) -> None:
    with pytest.raises(RegionError, match=message):
        parse_query(query, CONTIGS)


def test_bed(tmp_path: Path) -> None:
    bed = tmp_path / "genes.bed"
    bed.write_text("track name=x\n# comment\nchr1\t0\t10\tgeneA\nHLA-A*01:01:01:01\t4\t9\n")
    assert read_bed(bed, CONTIGS) == [
        Region("chr1", 0, 10),
        Region("HLA-A*01:01:01:01", 4, 9),
    ]
    bed.write_text("chr9\t0\t10\n")
    with pytest.raises(RegionError, match="line 1: no contig 'chr9'"):
        read_bed(bed, CONTIGS)


def test_cram_containers_run_to_the_one_that_ends_the_region() -> None:
    # Containers at 100, 200, 300 on reference 0; 400 on reference 1.
    index = CraiIndex(
        [
            CraiSlice(0, 1, 1000, 100, 0, 10),
            CraiSlice(0, 900, 1000, 200, 0, 10),  # spans 900-1899
            CraiSlice(0, 3000, 1000, 300, 0, 10),
            CraiSlice(1, 1, 1000, 400, 0, 10),
        ]
    )
    assert index.containers_for(0, 1000, 1100) == [200, 300]  # 100 ends at 1000: not read
    assert index.containers_for(0, 1950, 2500) == [300]  # a gap: the container after it
    assert index.containers_for(0, 3500, 10_000) == [300, 400]  # to the contig's end
    assert index.containers_for(1, 0, 10) == [400]
    assert index.containers_for(2, 0, 10) == []
