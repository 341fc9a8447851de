"""htsget 1.3 on the broker: the `htsget` client from PyPI fetches regions of a BAM and a CRAM
whose records equal samtools' on the local file, within 1.1x of the planner's bytes."""

from __future__ import annotations

import base64
import subprocess
import sys
from pathlib import Path
from typing import Any

import htsget
import httpx
import pysam
import pytest

from tests.conftest import BrokerFactory, _storage_for
from tests.support.alignments import AlignmentFiles, write_alignments
from tests.support.broker import BrokerProcess
from tests.support.tui import Tui

STUDY = "HTSGET-TEST"
REGIONS = [("chr1", 16_300, 16_500), ("chr2", 110_000, 130_000), ("chr3", None, None)]


@pytest.fixture(scope="session")
def alignments(tmp_path_factory: pytest.TempPathFactory) -> AlignmentFiles:
    return write_alignments(tmp_path_factory.mktemp("alignments"))


@pytest.fixture(params=["local", "moto"])
def served(
    request: pytest.FixtureRequest,
    broker_factory: BrokerFactory,
    alignments: AlignmentFiles,
    tmp_path: Path,
) -> tuple[BrokerProcess, dict[str, str]]:
    storage = _storage_for(request.param, request, tmp_path / "store")
    broker = broker_factory(storage, song={"url": "embedded"})
    (tmp_path / "user").mkdir()
    tui = Tui(tmp_path / "user", broker.url)
    files = [alignments.bam, alignments.bai, alignments.cram, alignments.crai]
    status, summary = tui.json(
        "upload", "--study", STUDY, "--access", "open", "--publish",
        *[a for f in files for a in ("--file", str(f))],
    )  # fmt: skip
    assert status == 0, summary["stderr"]
    return broker, {f["file"]: f["objectId"] for f in summary["files"] if "objectId" in f}


def samtools(*args: str) -> list[str]:
    done = subprocess.run(["samtools", "view", *args], capture_output=True, text=True, check=True)
    return done.stdout.splitlines()


def ticket_bytes(ticket: dict[str, Any]) -> int:
    """Bytes the ticket's URLs hold: Range lengths, and inline data."""
    total = 0
    for url in ticket["htsget"]["urls"]:
        if url["url"].startswith("data:"):
            total += len(base64.b64decode(url["url"].split(",", 1)[1]))
        else:
            first, last = url["headers"]["Range"].removeprefix("bytes=").split("-")
            total += int(last) - int(first) + 1
    return total


def planned_bam_bytes(files: AlignmentFiles, region: tuple[str, int | None, int | None]) -> int:
    """The planner's minimum, measured on the local files as `view`'s test measures it."""
    from tests.functional.test_view import index_required_bytes

    contig, start, end = region
    query = contig if start is None else f"{contig}:{start + 1}-{end}"
    return index_required_bytes(files, [query])


def planned_cram_bytes(files: AlignmentFiles, region: tuple[str, int | None, int | None]) -> int:
    """What the slicing planner reads for a CRAM region (as `view` does): the bytes before the
    first container, the whole containers htslib reads for it, and the EOF container."""
    from score_tui.slicing.crai import CraiIndex
    from score_tui.slicing.plan import CRAM_EOF, cram_header_end, cram_ranges
    from score_tui.slicing.regions import Region

    index = CraiIndex.parse(files.crai.read_bytes())
    size = files.cram.stat().st_size
    with pysam.AlignmentFile(str(files.cram), reference_filename=str(files.reference)) as cram:
        tids = {name: tid for tid, name in enumerate(cram.references)}
    contig, start, end = region
    wanted = Region(contig, start or 0, end if end is not None else 2**31)
    ranges = sorted(set(cram_ranges(index, size, tids, [wanted])))
    return cram_header_end(index, size) + sum(b - a for a, b in ranges) + CRAM_EOF


@pytest.mark.parametrize("data_format", ["BAM", "CRAM"])
def test_regions_through_the_htsget_client_equal_samtools(
    served: tuple[BrokerProcess, dict[str, str]],
    alignments: AlignmentFiles,
    tmp_path: Path,
    data_format: str,
) -> None:
    broker, ids = served
    name = "sample.bam" if data_format == "BAM" else "sample.cram"
    local = alignments.bam if data_format == "BAM" else alignments.cram
    url = f"{broker.url}/ga4gh/htsget/v1/reads/{ids[name]}"
    reference = ["-T", str(alignments.reference)]
    for contig, start, end in REGIONS:
        out = tmp_path / f"{contig}.{data_format.lower()}"
        with open(out, "wb") as handle:
            htsget.get(
                url, handle, reference_name=contig, start=start, end=end,
                data_format=data_format,
            )  # fmt: skip
        subprocess.run(["samtools", "index", str(out)], check=True)
        region = contig if start is None else f"{contig}:{start + 1}-{end}"
        assert samtools(*reference, str(out), region) == samtools(*reference, str(local), region)
        params: dict[str, Any] = {"format": data_format, "referenceName": contig}
        if start is not None:
            params |= {"start": start, "end": end}
        ticket = httpx.get(url, params=params).json()
        assert ticket["htsget"]["format"] == data_format
        assert ticket["htsget"]["urls"][0]["class"] == "header"
        assert ticket["htsget"]["urls"][0]["url"].startswith("data:")
        fetched = ticket_bytes(ticket)
        assert fetched < local.stat().st_size * 0.7 or contig == "chr3"
        planned = planned_bam_bytes if data_format == "BAM" else planned_cram_bytes
        assert fetched <= 1.1 * planned(alignments, (contig, start, end))


def test_whole_file_and_header_only(
    served: tuple[BrokerProcess, dict[str, str]], alignments: AlignmentFiles, tmp_path: Path
) -> None:
    broker, ids = served
    url = f"{broker.url}/ga4gh/htsget/v1/reads/{ids['sample.bam']}"
    whole = tmp_path / "whole.bam"
    with open(whole, "wb") as handle:
        htsget.get(url, handle)
    assert whole.read_bytes() == alignments.bam.read_bytes()
    ticket = httpx.get(url, params={"class": "header"}).json()
    assert [u["class"] for u in ticket["htsget"]["urls"]] == ["header"]
    header = base64.b64decode(ticket["htsget"]["urls"][0]["url"].split(",", 1)[1])
    assert alignments.bam.read_bytes().startswith(header)


def test_service_info(served: tuple[BrokerProcess, dict[str, str]]) -> None:
    broker, _ = served
    info = httpx.get(f"{broker.url}/ga4gh/htsget/v1/reads/service-info").json()
    assert info["type"] == {"group": "org.ga4gh", "artifact": "htsget", "version": "1.3.0"}
    assert info["htsget"] == {
        "datatype": "reads",
        "formats": ["BAM", "CRAM"],
        "fieldsParametersEffective": False,
        "tagsParametersEffective": False,
    }


def test_refusals_in_htsgets_shape(served: tuple[BrokerProcess, dict[str, str]]) -> None:
    broker, ids = served
    base = f"{broker.url}/ga4gh/htsget/v1/reads"
    bam = ids["sample.bam"]
    cases: list[tuple[str, dict[str, Any], int, str]] = [
        (bam, {"referenceName": "chrX"}, 404, "NotFound"),
        (bam, {"referenceName": "chr1", "start": 500, "end": 100}, 400, "InvalidRange"),
        (bam, {"referenceName": "chr1", "start": -1}, 400, "InvalidRange"),
        (bam, {"referenceName": "chr1", "start": "abc"}, 400, "InvalidRange"),
        (bam, {"referenceName": "chr1", "start": 999_999}, 400, "InvalidRange"),
        (bam, {"start": 10}, 400, "InvalidInput"),
        (bam, {"format": "VCF"}, 400, "UnsupportedFormat"),
        (bam, {"format": "CRAM"}, 400, "UnsupportedFormat"),
        (bam, {"fields": "QNAME"}, 400, "InvalidInput"),
        (bam, {"class": "body"}, 400, "InvalidInput"),
        (ids["sample.bam.bai"], {}, 400, "UnsupportedFormat"),
        ("4d2a1b7e-0c1f-5d8e-9f3a-000000000000", {}, 404, "NotFound"),
    ]
    for object_id, params, status, kind in cases:
        response = httpx.get(f"{base}/{object_id}", params=params)
        assert response.status_code == status, (params, response.text)
        assert response.json()["htsget"]["error"] == kind, (params, response.text)
        assert response.json()["htsget"]["message"]


def test_controlled_and_unpublished_objects_follow_scores_rules(
    broker_factory: BrokerFactory, alignments: AlignmentFiles, tmp_path: Path
) -> None:
    storage = {"backend": "local", "local": {"directory": str(tmp_path / "store")}}
    broker = broker_factory(storage, song={"url": "embedded"}, auth={"enabled": True})
    admin = (tmp_path / "data" / "admin-key").read_text().strip()
    config = tmp_path / "brokers" / f"broker-{broker.port}.toml"
    other_study = subprocess.run(
        [sys.executable, "-m", "score_broker", "keys", "create", "--scope",
         "PROGRAMDATA-OTHER.READ", "--config", str(config)],
        capture_output=True, text=True, check=True, timeout=60,
    ).stdout.strip()  # fmt: skip
    (tmp_path / "user").mkdir()
    tui = Tui(tmp_path / "user", broker.url, token=admin)
    ids: dict[str, str] = {}
    for files, publish in (
        ([alignments.bam, alignments.bai], ["--publish"]),
        ([alignments.cram], []),
    ):
        status, summary = tui.json(
            "upload", "--study", STUDY, "--access", "controlled", *publish,
            *[a for f in files for a in ("--file", str(f))],
        )  # fmt: skip
        assert status == 0, summary["stderr"]
        ids.update({f["file"]: f["objectId"] for f in summary["files"] if "objectId" in f})
    base = f"{broker.url}/ga4gh/htsget/v1/reads"
    cases: list[tuple[str, str | None, int, str | None]] = [
        (ids["sample.bam"], None, 401, "InvalidAuthentication"),
        (ids["sample.bam"], "not-a-key", 401, "InvalidAuthentication"),
        (ids["sample.bam"], other_study, 403, "PermissionDenied"),
        (ids["sample.cram"], admin, 404, "NotFound"),  # its analysis is not published
        (ids["sample.bam"], admin, 200, None),
    ]
    for object_id, token, status, kind in cases:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        response = httpx.get(
            f"{base}/{object_id}", params={"format": "CRAM" if kind == "NotFound" else "BAM",
            "referenceName": "chr3"}, headers=headers,
        )  # fmt: skip
        assert response.status_code == status, (token, response.text)
        if kind:
            assert response.json()["htsget"]["error"] == kind
    out = tmp_path / "chr3.bam"
    with open(out, "wb") as handle:
        htsget.get(f"{base}/{ids['sample.bam']}", handle, reference_name="chr3", bearer_token=admin)
    subprocess.run(["samtools", "index", str(out)], check=True)
    assert samtools(str(out), "chr3") == samtools(str(alignments.bam), "chr3")
