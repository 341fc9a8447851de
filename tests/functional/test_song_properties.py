"""Property: whatever a submission holds, the embedded Song never answers 5xx, and a submission
it accepts reads back equal (the analysis, its files, the study's listing).

Submissions have Song's shape, filled with any text (lone surrogates included), integers of any
size, floats, and `info` of any JSON, nested up to twice [limits] max_json_depth. They go over a
real socket to one broker; the examples are derandomized so every run checks the same ones.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from tests.support.broker import BrokerProcess
from tests.support.song import SONG_ERROR_KEYS

STUDY = "PROPERTIES"
FILE_FIELDS = ("fileName", "fileSize", "fileMd5sum", "fileAccess", "fileType", "dataType")


def mostly(valid: st.SearchStrategy[Any], wild: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """`valid` nine times in ten, else `wild`: enough submissions pass to check reading back."""
    return st.integers(0, 9).flatmap(lambda n: wild if n == 9 else valid)


lone_surrogates = st.sampled_from(["\ud800", "\udfff", "\udbff\udbff"])
any_text = st.one_of(
    st.lists(st.one_of(st.characters(), st.characters(categories=["Cs"])), max_size=20).map(
        "".join
    ),
    st.tuples(st.text(max_size=5), lone_surrogates, st.text(max_size=5)).map("".join),
)
texts = mostly(st.text(min_size=1, max_size=20), any_text)
file_names = mostly(st.from_regex(r"[A-Za-z0-9_.\-]{1,16}", fullmatch=True), any_text)
integers = mostly(
    st.integers(-(2**63), 2**63 - 1),
    st.one_of(
        st.sampled_from([2**63, -(2**63) - 1, 10**19, -(10**19), 10**400, -(10**400)]),
        st.integers(),
    ),
)
scalars = st.one_of(
    st.none(),
    st.booleans(),
    integers,
    mostly(st.floats(allow_nan=False, allow_infinity=False), st.floats()),
    texts,
)
json_values = st.recursive(
    scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(texts, inner, max_size=3)),
    max_leaves=10,
)


def nested(levels: int) -> dict[str, Any]:
    value: dict[str, Any] = {"leaf": 1}
    for _ in range(levels - 1):
        value = {"a": value}
    return value


infos = st.one_of(
    st.dictionaries(texts, json_values, max_size=4),
    mostly(st.integers(1, 60), st.integers(61, 128)).map(nested),
)


@st.composite
def files(draw: st.DrawFn) -> dict[str, Any]:
    file: dict[str, Any] = {
        "fileName": draw(file_names),
        "fileSize": draw(integers),
        "fileMd5sum": draw(st.from_regex(r"[a-fA-F0-9]{32}", fullmatch=True)),
        "fileAccess": draw(st.sampled_from(["open", "controlled"])),
        "fileType": draw(texts),
        "dataType": draw(texts),
    }
    if draw(st.booleans()):
        file["info"] = draw(infos)
    if draw(st.booleans()):
        file[draw(st.sampled_from(["extra", "x-note", "info2"]))] = draw(json_values)
    return file


@st.composite
def submissions(draw: st.DrawFn) -> dict[str, Any]:
    sample = {
        "submitterSampleId": draw(texts),
        "sampleType": draw(texts),
        "matchedNormalSubmitterSampleId": None,
        "specimen": {
            "submitterSpecimenId": draw(texts),
            "specimenType": draw(texts),
            "specimenTissueSource": draw(texts),
            "tumourNormalDesignation": "Normal",
        },
        "donor": {"submitterDonorId": draw(texts), "gender": "Other"},
    }
    body: dict[str, Any] = {
        "studyId": STUDY,
        "analysisType": {"name": "variantCall"},
        "samples": [sample],
        "files": draw(st.lists(files(), min_size=1, max_size=3)),
        "experiment": {
            "matchedNormalSampleSubmitterId": draw(texts),
            "variantCallingTool": draw(texts),
        },
    }
    if draw(st.booleans()):
        body["info"] = draw(infos)
    return body


@pytest.fixture(scope="module")
def song(tmp_path_factory: pytest.TempPathFactory) -> Iterator[httpx.Client]:
    work = tmp_path_factory.mktemp("song-properties")
    config = {
        "server": {"data_directory": str(work / "data")},
        "storage": {"backend": "local", "local": {"directory": str(work / "store")}},
        "song": {"url": "embedded"},
        "auth": {"enabled": False},
    }
    broker = BrokerProcess(config, work).start()
    client = httpx.Client(base_url=f"{broker.url}/song", timeout=60)
    assert client.post(f"/studies/{STUDY}/", json={"studyId": STUDY}).status_code == 200
    yield client
    client.close()
    broker.stop()


def expected_file(file: dict[str, Any]) -> dict[str, Any]:
    wire = {name: file[name] for name in FILE_FIELDS}
    info = {k: v for k, v in file.items() if k not in (*FILE_FIELDS, "info")}
    info.update(file.get("info") or {})
    if info:
        wire["info"] = info
    return wire


def assert_reads_back(song: httpx.Client, body: dict[str, Any], analysis_id: str) -> None:
    read = song.get(f"/studies/{STUDY}/analysis/{analysis_id}")
    assert read.status_code == 200, read.text
    analysis = read.json()
    assert analysis["analysisState"] == "UNPUBLISHED"
    assert analysis["experiment"] == body["experiment"]
    assert analysis.get("info") == body.get("info")
    sample, returned = body["samples"][0], analysis["samples"][0]
    for name in ("submitterSampleId", "sampleType", "matchedNormalSubmitterSampleId"):
        assert returned[name] == sample[name]
    assert returned["specimen"].items() >= sample["specimen"].items()
    assert returned["donor"].items() >= sample["donor"].items()
    stored = [
        {k: v for k, v in f.items() if k in (*FILE_FIELDS, "info")} for f in analysis["files"]
    ]
    assert stored == [expected_file(f) for f in body["files"]]
    listed = song.get(f"/studies/{STUDY}/analysis", params={"analysisStates": "UNPUBLISHED"})
    assert listed.status_code == 200, listed.text
    assert analysis in listed.json()
    files = song.get(f"/studies/{STUDY}/analysis/{analysis_id}/files")
    assert files.status_code == 200, files.text
    assert files.json() == analysis["files"]


@settings(
    max_examples=200,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(body=submissions())
def test_submissions_never_fail_and_read_back_equal(
    song: httpx.Client, body: dict[str, Any]
) -> None:
    # json.dumps escapes lone surrogates as \ud800, as a Java or JavaScript client would send them.
    response = song.post(
        f"/submit/{STUDY}", content=json.dumps(body).encode(), params={"allowDuplicates": True}
    )
    assert response.status_code < 500, response.text
    event(f"HTTP {response.status_code} {response.json().get('errorId', '')}")
    if response.status_code != 200:
        assert set(response.json()) == SONG_ERROR_KEYS
        return
    assert_reads_back(song, body, response.json()["analysisId"])
