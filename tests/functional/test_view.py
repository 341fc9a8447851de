"""`view`: region slices of remote BAMs and CRAMs equal Debian samtools' on a local copy, and
fetch little more than the index says they need (bytes counted at a proxy before the store).

Runs on the local store, moto and Azurite through the fault proxy of the transfer tests.
"""

from __future__ import annotations

import struct
import subprocess
import zlib
from pathlib import Path

import pysam
import pytest

from score_tui.demo import write_demo_bam
from score_tui.slicing.bai import BaiIndex
from tests.conftest import Proxied
from tests.support.alignments import AlignmentFiles, write_alignments
from tests.support.broker import BrokerProcess
from tests.support.store_proxy import StoreProxy
from tests.support.tui import Tui

STUDY = "VIEW-TEST"
QUERIES = [
    "chr1:16,300-16,500",  # reads across the first 16 kb bin boundary
    "chr1:200000-232000",
    "chr2:110,000-130,000",  # no read starts here
    "chr3",
]


@pytest.fixture(scope="session")
def alignments(tmp_path_factory: pytest.TempPathFactory) -> AlignmentFiles:
    return write_alignments(tmp_path_factory.mktemp("alignments"))


@pytest.fixture
def stored(
    proxied: Proxied, alignments: AlignmentFiles, tmp_path: Path
) -> tuple[BrokerProcess, StoreProxy, Tui, dict[str, str]]:
    """The BAM, CRAM and their indexes in one analysis, and a BAM alone in another."""
    broker, proxy = proxied()
    (tmp_path / "user").mkdir()
    tui = Tui(tmp_path / "user", broker.url)
    lonely = tmp_path / "lonely"
    lonely.mkdir()
    write_demo_bam(lonely / "alone.bam", reads=200)  # (its index is not uploaded)
    ids: dict[str, str] = {}
    for files in (
        [alignments.bam, alignments.bai, alignments.cram, alignments.crai, alignments.reference],
        [lonely / "alone.bam"],
    ):
        arguments = [a for f in files for a in ("--file", str(f))]
        status, summary = tui.json(
            "upload", "--study", STUDY, "--access", "open", "--publish", *arguments
        )
        assert status == 0, summary["stderr"]
        ids.update({f["file"]: f["objectId"] for f in summary["files"] if "objectId" in f})
    proxy.seen.clear()
    return broker, proxy, tui, ids


def samtools(*args: str) -> list[str]:
    done = subprocess.run(["samtools", "view", *args], capture_output=True, text=True, check=True)
    return done.stdout.splitlines()


def records(sam: Path) -> list[str]:
    return [line for line in sam.read_text().splitlines() if not line.startswith("@")]


def fetched(proxy: StoreProxy, object_id: str) -> int:
    """Bytes of the object sent to the client (not the broker's reads of its `.meta`)."""
    return sum(s.sent for s in proxy.data_requests("GET", object_id) if s.path.endswith(object_id))


def needed_bam_bytes(bam: Path, queries: list[str]) -> int:
    """The header's blocks, the blocks holding the regions' records, and the EOF block: found
    by decompressing the local copy and walking its records (without the index)."""
    data = bam.read_bytes()
    blocks, stream, at = [], bytearray(), 0  # (compressed size, uncompressed start, end)
    while at < len(data):
        size = int.from_bytes(data[at + 16 : at + 18], "little") + 1
        inflated = zlib.decompress(data[at + 18 : at + size - 8], wbits=-15)
        blocks.append((size, len(stream), len(stream) + len(inflated)))
        stream += inflated
        at += size

    def blocks_of(first: int, last: int) -> set[int]:
        return {i for i, (_, u0, u1) in enumerate(blocks) if u0 <= last and u1 > first}

    (l_text,) = struct.unpack_from("<i", stream, 4)
    (n_ref,) = struct.unpack_from("<i", stream, 8 + l_text)
    at, names = 12 + l_text, []
    for _ in range(n_ref):
        (l_name,) = struct.unpack_from("<i", stream, at)
        names.append(stream[at + 4 : at + 3 + l_name].decode())
        at += 8 + l_name
    wanted = blocks_of(0, at - 1)
    regions = []
    for query in queries:
        contig, _, span = query.replace(",", "").partition(":")
        beg, _, end = span.partition("-")
        regions.append((names.index(contig), int(beg or 1) - 1, int(end or 2**31)))
    while at < len(stream):
        size, tid, pos, l_name, _, _, n_cigar = struct.unpack_from("<iiiBBHH", stream, at)
        cigar = struct.unpack_from(f"<{n_cigar}I", stream, at + 36 + l_name)
        length = sum(op >> 4 for op in cigar if op & 0xF in (0, 2, 3, 7, 8)) or 1
        if any(t == tid and pos < e and pos + length > b for t, b, e in regions):
            wanted |= blocks_of(at, at + 4 + size - 1)
        at += 4 + size
    return sum(blocks[i][0] for i in wanted) + blocks[-1][0]  # and the empty EOF block


def index_required_bytes(files: AlignmentFiles, queries: list[str]) -> int:
    """The header's blocks, the BAI's chunks for the queries (their last block whole) and the
    EOF block, measured on the local copy."""
    data = files.bam.read_bytes()
    index = BaiIndex.parse(files.bai.read_bytes())

    def block_end(offset: int) -> int:
        return offset + int.from_bytes(data[offset + 16 : offset + 18], "little") + 1

    with pysam.AlignmentFile(str(files.bam)) as handle:
        names = list(handle.references)
        header_end = handle.tell() >> 16  # where the first record's block starts
    ranges = [(0, header_end)]
    for query in queries:
        contig, _, span = query.replace(",", "").partition(":")
        beg, _, end = span.partition("-")
        for start, stop in index.chunks(names.index(contig), int(beg or 1) - 1, int(end or 2**29)):
            last = stop >> 16
            ranges.append((start >> 16, block_end(last) if stop & 0xFFFF else last))
    covered, total = -1, 0
    for start, stop in sorted(ranges):
        total += max(0, stop - max(start, covered))
        covered = max(covered, stop)
    return total + 28


def test_bam_slices_equal_samtools_and_fetch_only_what_the_index_needs(
    stored: tuple[BrokerProcess, StoreProxy, Tui, dict[str, str]],
    alignments: AlignmentFiles,
    tmp_path: Path,
) -> None:
    _, proxy, tui, ids = stored
    out = tmp_path / "out"
    status, summary = tui.json(
        "view", "--object-id", ids["sample.bam"], "--query", *QUERIES, "--output-dir", str(out)
    )
    assert status == 0, summary["stderr"]
    (result,) = summary["files"]
    sam = Path(result["path"])
    assert sam.name == "sample.bam." + "__".join(q.replace(":", "_") for q in QUERIES) + ".sam"
    expected = samtools(str(alignments.bam), *[q.replace(",", "") for q in QUERIES])
    assert records(sam) == expected
    assert result["records"] == len(expected) > 0
    assert not samtools(str(alignments.bam), "chr2:110000-130000")  # the empty region is empty

    got = fetched(proxy, ids["sample.bam"])
    index = alignments.bai.stat().st_size
    assert result["bytesFetched"] == got + index
    # Every block holding a record of the regions came, and little more than the index
    # requires (the chunks htslib reads for the regions, the header and the EOF block).
    assert needed_bam_bytes(alignments.bam, QUERIES) <= got
    assert got <= 1.1 * index_required_bytes(alignments, QUERIES)
    assert got < alignments.bam.stat().st_size * 0.7


def test_bam_to_bam_with_index_and_contained(
    stored: tuple[BrokerProcess, StoreProxy, Tui, dict[str, str]],
    alignments: AlignmentFiles,
    tmp_path: Path,
) -> None:
    _, _, tui, ids = stored
    target = tmp_path / "slice.bam"
    status, summary = tui.json(
        "view", "--object-id", ids["sample.bam"], "--query", "chr1:100000-150000",
        "--contained", "--output-format", "bam", "--output-file", str(target), "--output-index",
    )  # fmt: skip
    assert status == 0, summary["stderr"]
    assert Path(f"{target}.bai").exists()

    def inside(line: str) -> bool:
        fields = line.split("\t")
        start = int(fields[3])
        end = start if fields[5] == "*" else start + 99  # unmapped reads placed here: 1 base
        return start >= 100_000 and end <= 150_000

    expected = [x for x in samtools(str(alignments.bam), "chr1:100000-150000") if inside(x)]
    assert samtools(str(target)) == expected
    with pysam.AlignmentFile(str(target)) as handle:
        assert handle.header.to_dict()["PG"][-1]["ID"] == "score-tui"


def test_cram_slices_equal_samtools(
    stored: tuple[BrokerProcess, StoreProxy, Tui, dict[str, str]],
    alignments: AlignmentFiles,
    tmp_path: Path,
) -> None:
    _, proxy, tui, ids = stored
    out = tmp_path / "cram"
    status, summary = tui.json(
        "view", "--object-id", ids["sample.cram"], "--query", *QUERIES,
        "--reference-file", str(alignments.reference), "--output-dir", str(out),
    )  # fmt: skip
    assert status == 0, summary["stderr"]
    sam = Path(summary["files"][0]["path"])
    expected = samtools(
        "-T",
        str(alignments.reference),
        str(alignments.cram),
        *[q.replace(",", "") for q in QUERIES],
    )
    assert records(sam) == expected
    assert fetched(proxy, ids["sample.cram"]) < alignments.cram.stat().st_size


def test_bad_requests_fail_with_one_line_and_write_nothing(
    stored: tuple[BrokerProcess, StoreProxy, Tui, dict[str, str]], tmp_path: Path
) -> None:
    _, _, tui, ids = stored
    out = tmp_path / "bad"
    cases: list[tuple[list[str], str]] = [
        (["--object-id", ids["sample.bam"], "--query", "chrX:1-100"], "no contig 'chrX'"),
        (["--object-id", ids["sample.bam"], "--query", "chr1:500-100"], "before the start"),
        (["--object-id", ids["sample.bam"], "--query", "chr1:abc"], "is not a region"),
        (["--object-id", ids["alone.bam"], "--query", "chr1"], "no .bai or .crai index"),
        (["--object-id", ids["sample.cram"], "--query", "chr1"], "needs its reference"),
        (["--object-id", ids["ref.fa"], "--query", "chr1"], "not a BAM or CRAM"),
    ]
    for arguments, message in cases:
        status, summary = tui.json("view", *arguments, "--output-dir", str(out))
        assert status == 1, (arguments, summary)
        (failure,) = summary["files"]
        assert message in failure["error"], failure["error"]
        assert "\n" not in failure["error"]
        assert not out.exists() or not list(out.iterdir())


def test_a_manifest_slices_every_bam_and_cram_and_a_local_file_works_too(
    stored: tuple[BrokerProcess, StoreProxy, Tui, dict[str, str]],
    alignments: AlignmentFiles,
    tmp_path: Path,
) -> None:
    _, _, tui, ids = stored
    manifest = tmp_path / "manifest.txt"
    manifest.write_text(
        "repo_code\tfile_id\tobject_id\tfile_format\tfile_name\tfile_size\tmd5_sum\t"
        "index_object_id\tdonor_id/donor_count\tproject_id/project_count\tstudy\n"
        + "".join(
            f"collab\tFI{n}\t{ids[name]}\tBAM\t{name}\t1\tmd5\t\tDO1\t{STUDY}\t{STUDY}\n"
            for n, name in enumerate(("sample.bam", "sample.cram", "ref.fa"))
        )
    )
    status, summary = tui.json(
        "view", "--manifest", str(manifest), "--query", "chr3:1000-5000",
        "--reference-file", str(alignments.reference), "--output-dir", str(tmp_path / "m"),
    )  # fmt: skip
    assert status == 0, summary["stderr"]
    assert sorted(Path(f["path"]).name for f in summary["files"]) == [
        "sample.bam.chr3_1000-5000.sam",
        "sample.cram.chr3_1000-5000.sam",
    ]
    expected = samtools(str(alignments.bam), "chr3:1000-5000")
    from_cram = samtools("-T", str(alignments.reference), str(alignments.cram), "chr3:1000-5000")
    for result in summary["files"]:
        cram = result["path"].endswith(".cram.chr3_1000-5000.sam")
        assert records(Path(result["path"])) == (from_cram if cram else expected)

    local = tui.run("view", "--input-file", str(alignments.bam), "--query", "chr3:1000-5000")
    assert local.returncode == 0, local.stderr
    assert [x for x in local.stdout.splitlines() if not x.startswith("@")] == expected


def test_bed_queries_and_the_header_alone(
    stored: tuple[BrokerProcess, StoreProxy, Tui, dict[str, str]],
    alignments: AlignmentFiles,
    tmp_path: Path,
) -> None:
    _, _, tui, ids = stored
    bed = tmp_path / "targets.bed"
    bed.write_text("chr1\t16299\t16500\nchr3\t999\t5000\n")
    out = tmp_path / "bed"
    status, summary = tui.json(
        "view", "--object-id", ids["sample.bam"], "--bed-query", str(bed), "--output-dir", str(out)
    )
    assert status == 0, summary["stderr"]
    sam = Path(summary["files"][0]["path"])
    assert sam.name == "sample.bam.targets.bed.sam"
    assert records(sam) == samtools(str(alignments.bam), "chr1:16300-16500", "chr3:1000-5000")

    header = tui.run("view", "--object-id", ids["sample.bam"], "--header-only")
    assert header.returncode == 0, header.stderr
    lines = header.stdout.splitlines()
    original = subprocess.run(
        ["samtools", "view", "-H", "--no-PG", str(alignments.bam)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.splitlines()
    assert lines[: len(original)] == original
    assert lines[len(original)].startswith("@PG\tID:score-tui\tPN:score-tui\tCL:")
    assert len(lines) == len(original) + 1
