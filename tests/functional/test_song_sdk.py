"""The unmodified overture-song Python SDK (PyPI `overture-song==5.0.0`) against the embedded Song.

Everything here goes through the SDK's public classes over HTTP, as a user of the SDK would:
`Api`, `StudyClient`, `ManifestClient`, `ApiConfig`, `FileUpdateRequest`, the `entities` and
`SongError`. The uploads between submit and publish are made by `score-tui --batch upload
--manifest`, reading the manifest the SDK wrote.

SDK calls not covered, because Song itself (github.com/overture-stack/SONG at 434ddf2, 5.1.2)
no longer serves what they call:

- `Api.list_schemas` (`GET /schema/list`) and `Api.get_schema` (`GET /schema/{id}`): Song's
  `SchemaController` (`@RequestMapping("/schema")`, the legacy payload JSON schemas) was last
  released in 1.5.0.2; since 2.0.0 analysis types are served at `/schemas` and
  `/schemas/{name}` (`AnalysisTypeController`), which the SDK does not call.
- `Api.info_search` (`GET /studies/{s}/analysis/search/info`): removed from Song's
  `AnalysisController` in 2.0.0 ("removed info search", 28085bd2).
- `UploadClient` (`upload_file`, `check_upload_status`, `save`): calls `Api.upload`, `Api.status`
  and `Api.save`, which SDK 5.0.0 itself no longer has; they targeted Song's async `/upload`
  API, whose `UploadController` was replaced by `POST /submit/{studyId}` in 2.0.0.
"""

from __future__ import annotations

import hashlib
import os
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import BrokerFactory
from tests.support.song import payload
from tests.support.song_sdk import (
    Api,
    ApiConfig,
    FileUpdateRequest,
    ManifestClient,
    SongError,
    Study,
    StudyClient,
)
from tests.support.tui import Tui

STUDY = "SDK-CA"


@dataclass(frozen=True)
class SongServer:
    """A running embedded Song: its base URL, the broker serving it and an admin token."""

    broker_url: str
    token: str

    @property
    def url(self) -> str:
        return f"{self.broker_url}/song"


@pytest.fixture
def song_server(broker_factory: BrokerFactory, tmp_path: Path, song_database: str) -> SongServer:
    """A fresh broker with the embedded Song and authorization on, for each database backend
    (SQLite files, PostgreSQL). The tests see only the URL and the admin token."""
    storage = {"backend": "local", "local": {"directory": str(tmp_path / "store")}}
    broker = broker_factory(
        storage, song={"url": "embedded"}, auth={"enabled": True}, database=song_database
    )
    return SongServer(broker.url, (tmp_path / "data" / "admin-key").read_text().strip())


@pytest.fixture
def sdk_api(song_server: SongServer) -> Api:
    """The SDK's Api for STUDY, built as the SDK's documentation builds one."""
    return Api(ApiConfig(song_server.url, STUDY, song_server.token))


@pytest.fixture
def study(sdk_api: Api) -> str:
    """STUDY, created with the SDK."""
    StudyClient(sdk_api).create(described_study())
    return STUDY


def described_study() -> Study:
    return Study.create(STUDY, name="SDK study", description="made by the SDK", organization="OICR")


def md5(content: bytes) -> str:
    return hashlib.md5(content).hexdigest()  # noqa: S324


def submit(api: Api, files: dict[str, bytes]) -> str:
    """Submit a variantCall analysis of open `files` with the SDK; its analysis id."""
    response = api.submit(payload(STUDY, {name: (c, "open") for name, c in files.items()}))
    assert response.status == "OK"
    return str(response.analysisId)


def song_error(call: Any, *args: Any) -> SongError:
    with pytest.raises(SongError) as raised:
        call(*args)
    return raised.value


def test_studies_are_created_and_read_through_the_study_client(sdk_api: Api) -> None:
    studies = StudyClient(sdk_api)
    assert sdk_api.is_alive() is True
    assert studies.has(STUDY) is False

    studies.create(described_study())

    assert studies.has(STUDY) is True
    read = studies.read(STUDY)
    assert (read.studyId, read.name, read.description, read.organization) == (
        STUDY, "SDK study", "made by the SDK", "OICR",
    )  # fmt: skip
    assert sdk_api.get_all_studies() == [STUDY]
    again = song_error(studies.create, Study.create(STUDY, name="again"))
    assert (again.errorId, again.httpStatusCode) == ("study.already.exists", 409)


def test_unknown_studies_and_analyses_raise_song_errors(sdk_api: Api, study: str) -> None:
    unknown_study = song_error(sdk_api.get_study, "NO-SUCH-STUDY")
    assert unknown_study.errorId == "study.id.does.not.exist"
    assert (unknown_study.httpStatusCode, unknown_study.httpStatusName) == (404, "NOT_FOUND")
    assert unknown_study.requestUrl.endswith("/song/studies/NO-SUCH-STUDY")
    assert "NO-SUCH-STUDY" in unknown_study.message

    missing = str(uuid.uuid4())
    for call in (
        sdk_api.get_analysis,
        sdk_api.get_analysis_files,
        sdk_api.publish,
        sdk_api.suppress,
    ):
        error = song_error(call, missing)
        assert (error.errorId, error.httpStatusCode) == ("analysis.id.not.found", 404)
        assert missing in error.message

    elsewhere = Api(
        ApiConfig(sdk_api.config.server_url, "NO-SUCH-STUDY", sdk_api.config.access_token)
    )
    error = song_error(elsewhere.submit, payload("NO-SUCH-STUDY", {"x.vcf": (b"x", "open")}))
    assert (error.errorId, error.httpStatusCode) == ("study.id.does.not.exist", 404)


def test_a_submitted_analysis_is_read_searched_and_its_files_updated(
    sdk_api: Api, study: str
) -> None:
    files = {"calls.vcf.gz": os.urandom(3000), "calls.vcf.gz.tbi": os.urandom(300)}
    analysis_id = submit(sdk_api, files)
    object_ids = {n: str(uuid.uuid5(uuid.NAMESPACE_OID, f"{analysis_id}:{n}")) for n in files}

    analysis = sdk_api.get_analysis(analysis_id)
    assert (analysis.analysisId, analysis.studyId) == (analysis_id, STUDY)
    assert analysis.analysisState == "UNPUBLISHED"
    assert analysis.analysisType.name == "variantCall"
    assert analysis.experiment.variantCallingTool == "t"
    sample = analysis.samples[0]
    assert sample.submitterSampleId == "sample-1"
    assert sample.donor.submitterDonorId == "donor-1"

    listed = sdk_api.get_analysis_files(analysis_id)
    assert {f.fileName: (f.objectId, f.fileMd5sum, f.fileSize) for f in listed} == {
        n: (object_ids[n], md5(c), len(c)) for n, c in files.items()
    }
    assert {f.fileAccess for f in listed} == {"open"}

    entire = sdk_api.get_entire_study(STUDY)
    assert (entire.studyId, entire.name) == (STUDY, "SDK study")
    [donor] = entire.donors
    [specimen] = donor.specimens
    [in_study] = specimen.samples
    assert (donor.donorId, specimen.specimenId, in_study.sampleId) == (
        sample.donor.donorId, sample.specimen.specimenId, sample.sampleId,
    )  # fmt: skip

    other_id = submit(sdk_api, {"other.vcf.gz": os.urandom(100)})
    assert {a.analysisId for a in sdk_api.id_search(sample_id=sample.sampleId)} == {
        analysis_id, other_id,
    }  # fmt: skip
    assert [a.analysisId for a in sdk_api.id_search(file_id=object_ids["calls.vcf.gz"])] == [
        analysis_id
    ]
    assert sdk_api.id_search(donor_id=str(uuid.uuid4())) == []

    access = FileUpdateRequest()
    access.fileAccess = "controlled"
    access.info = {"reviewed": True}
    updated = sdk_api.update_file(object_ids["calls.vcf.gz"], access)
    assert updated.fileUpdateType == "METADATA_UPDATE"
    assert updated.originalFile.fileAccess == "open"
    content = FileUpdateRequest()
    content.fileSize = 2999
    content.fileMd5sum = md5(b"new content")
    updated = sdk_api.update_file(object_ids["calls.vcf.gz"], content)
    assert updated.fileUpdateType == "CONTENT_UPDATE"
    assert updated.unpublishedAnalysis is False

    [changed] = [f for f in sdk_api.get_analysis_files(analysis_id) if f.fileName == "calls.vcf.gz"]
    assert (changed.fileAccess, changed.fileSize, changed.fileMd5sum) == (
        "controlled", 2999, md5(b"new content"),
    )  # fmt: skip
    assert changed.info.reviewed is True


def test_the_sdk_manifest_uploads_and_the_analysis_is_published(
    sdk_api: Api, study: str, song_server: SongServer, tmp_path: Path
) -> None:
    files = {"reads.vcf.gz": os.urandom(5000), "reads.vcf.gz.tbi": os.urandom(500)}
    analysis_id = submit(sdk_api, files)
    source = tmp_path / "source"
    source.mkdir()
    for name, content in files.items():
        (source / name).write_bytes(content)
    manifest = tmp_path / "manifests" / "upload.txt"

    ManifestClient(sdk_api).write_manifest(analysis_id, str(source), str(manifest))

    listed = {f.fileName: f.objectId for f in sdk_api.get_analysis_files(analysis_id)}
    lines = manifest.read_text().splitlines()
    assert lines[0] == f"{analysis_id}\t\t"
    assert sorted(lines[1:]) == sorted(
        f"{listed[n]}\t{source.resolve() / n}\t{md5(c)}" for n, c in files.items()
    )
    not_uploaded = song_error(sdk_api.publish, analysis_id)
    assert (not_uploaded.errorId, not_uploaded.httpStatusCode) == (
        "missing.storage.objects", 409,
    )  # fmt: skip

    (tmp_path / "user").mkdir()
    tui = Tui(tmp_path / "user", song_server.broker_url, token=song_server.token)
    uploaded = tui.run("upload", "--manifest", str(manifest))
    assert uploaded.returncode == 0, uploaded.stderr

    published = sdk_api.publish(analysis_id)
    assert published.message == f"AnalysisId {analysis_id} successfully published"
    assert sdk_api.get_analysis(analysis_id).analysisState == "PUBLISHED"

    # A published file's metadata may change, its content may not.
    index_id = listed["reads.vcf.gz.tbi"]
    access = FileUpdateRequest()
    access.fileAccess = "controlled"
    assert sdk_api.update_file(index_id, access).originalAnalysisState == "PUBLISHED"
    content = FileUpdateRequest()
    content.fileSize = 1
    refused = song_error(sdk_api.update_file, index_id, content)
    assert (refused.errorId, refused.httpStatusCode) == ("illegal.file.update.request", 400)
    assert sdk_api.get_analysis(analysis_id).analysisState == "PUBLISHED"

    assert sdk_api.unpublish(analysis_id).message == (
        f"AnalysisId {analysis_id} successfully unpublished"
    )
    assert sdk_api.get_analysis(analysis_id).analysisState == "UNPUBLISHED"
    assert sdk_api.suppress(analysis_id).message == f"AnalysisId {analysis_id} was suppressed"
    suppressed = sdk_api.get_analysis(analysis_id)
    assert suppressed.analysisState == "SUPPRESSED"
    assert [h.updatedState for h in suppressed.analysisStateHistory] == [
        "PUBLISHED", "UNPUBLISHED", "SUPPRESSED",
    ]  # fmt: skip
    stuck = song_error(sdk_api.unpublish, analysis_id)
    assert (stuck.errorId, stuck.httpStatusCode) == ("suppressed.state.transition", 400)
