"""Song failure shapes a real server cannot easily be made to produce (respx)."""

from __future__ import annotations

import httpx
import pytest
import respx

from score_broker.errors import MetadataUnavailable, NotFound
from score_broker.metadata.remote import RemoteSong

SONG = "http://song.test"
OID = "1801c3ac-6ba4-5693-82e9-99e404d73324"
ENTITY = {"id": OID, "gnosId": "a-1", "fileName": "x.vcf", "projectCode": "ABC", "access": "open"}


@pytest.fixture
def song() -> RemoteSong:
    return RemoteSong(SONG, timeout=1, retries=1)


@respx.mock
def test_entity_and_state(song: RemoteSong) -> None:
    respx.get(f"{SONG}/entities/{OID}").respond(json=ENTITY)
    respx.get(f"{SONG}/studies/ABC/analysis/a-1").respond(json={"analysisState": "PUBLISHED"})
    entity = song.entity(OID)
    assert (entity.project_code, entity.gnos_id, entity.access) == ("ABC", "a-1", "open")
    assert song.analysis_state("ABC", "a-1") == "PUBLISHED"


@respx.mock
def test_a_files_registered_size_and_md5(song: RemoteSong) -> None:
    file = {"objectId": OID, "fileSize": 1000, "fileMd5sum": "AB" * 16}
    respx.get(f"{SONG}/studies/ABC/files/{OID}").respond(json=file)
    record = song.file_record("ABC", OID)
    assert record is not None
    assert (record.size, record.md5) == (1000, "ab" * 16)
    respx.get(f"{SONG}/studies/ABC/files/{OID}").respond(404, json={"errorId": "file.not.found"})
    assert song.file_record("ABC", OID) is None


@respx.mock
def test_unknown_object_is_not_found(song: RemoteSong) -> None:
    respx.get(f"{SONG}/entities/{OID}").respond(404, json={"errorId": "legacy.entity.not.found"})
    with pytest.raises(NotFound, match="is not registered"):
        song.entity(OID)


@respx.mock
def test_timeouts_are_retried_then_unavailable(song: RemoteSong) -> None:
    route = respx.get(f"{SONG}/entities/{OID}").mock(side_effect=httpx.ReadTimeout("slow"))
    with pytest.raises(MetadataUnavailable, match="cannot reach Song"):
        song.entity(OID)
    assert route.call_count == 2


@respx.mock
def test_html_500_is_unavailable(song: RemoteSong) -> None:
    respx.get(f"{SONG}/entities/{OID}").respond(500, html="<html><body>Oops</body></html>")
    with pytest.raises(MetadataUnavailable, match="HTTP 500") as caught:
        song.entity(OID)
    assert "<html>" not in str(caught.value)


@respx.mock
def test_a_transient_failure_recovers(song: RemoteSong) -> None:
    respx.get(f"{SONG}/entities/{OID}").mock(
        side_effect=[httpx.Response(503), httpx.Response(200, json=ENTITY)]
    )
    assert song.entity(OID).id == OID


@respx.mock
def test_malformed_json_is_unavailable(song: RemoteSong) -> None:
    respx.get(f"{SONG}/entities/{OID}").respond(200, text="{not json")
    with pytest.raises(MetadataUnavailable, match="not JSON"):
        song.entity(OID)


@respx.mock
def test_missing_state_or_other_id_is_unavailable(song: RemoteSong) -> None:
    respx.get(f"{SONG}/entities/{OID}").respond(json={**ENTITY, "id": "someone-else"})
    respx.get(f"{SONG}/studies/ABC/analysis/a-1").respond(json={"analysisId": "a-1"})
    with pytest.raises(MetadataUnavailable):
        song.entity(OID)
    with pytest.raises(MetadataUnavailable, match="analysisState"):
        song.analysis_state("ABC", "a-1")


@respx.mock
def test_studies_differing_only_in_case(song: RemoteSong) -> None:
    respx.get(f"{SONG}/studies/all").respond(json=["ABC", "abc", "XYZ"])
    assert not song.unique_ignoring_case("abc")
    assert not song.unique_ignoring_case("ABC")
    assert song.unique_ignoring_case("XYZ")
