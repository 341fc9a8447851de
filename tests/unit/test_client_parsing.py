"""Manifests, MD5 forms, layouts and server messages: the client's parsing of what it is given."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from score_tui.client.errors import (
    AccessRefused,
    NotFound,
    Retryable,
    server_message,
    service_error,
)
from score_tui.client.models import Entity
from score_tui.client.naming import index_of, object_id_from
from score_tui.engine.hashing import normalized_md5
from score_tui.planning.layout import target_path
from score_tui.planning.manifests import ManifestError, download_object_ids, upload_entries
from score_tui.planning.requests import DownloadRequest, RequestError, SliceRequest, UploadRequest

OID = "3f1c4a55-6f4e-4c34-8a77-0c8f0d0f2a11"
MD5 = "9e107d9d372bb6826bd81d3542a419d6"


def test_upload_manifest_skips_its_first_line_and_resolves_paths(tmp_path: Path) -> None:
    text = f"analysis-id\t\t\n{OID}\t data/a.bam \t{MD5.upper()}\n\n"
    (entry,) = upload_entries(text, "m.tsv", tmp_path)
    assert entry.object_id == OID
    assert entry.path == tmp_path / "data" / "a.bam"
    assert entry.md5 == MD5


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (f"h\n{OID}\ta.bam\n", "m.tsv line 2: expected 3 tab-separated columns"),
        (f"h\nnot-uuid\ta.bam\t{MD5}\n", "m.tsv line 2: 'not-uuid' is not a valid UUID"),
        (f"h\n{OID}\ta.bam\txyz\n", "m.tsv line 2: 'xyz' is not an MD5"),
        ("only a header\n", "the manifest lists no files"),
    ],
)
def test_bad_upload_manifests_name_the_line(text: str, message: str, tmp_path: Path) -> None:
    with pytest.raises(ManifestError, match=message):
        upload_entries(text, "m.tsv", tmp_path)


def test_download_manifest_reads_the_object_id_column() -> None:
    row = "\t".join(["collab", "FI1", OID, "BAM", "a.bam", "10", MD5, "", "DO1", "P", "S"])
    assert download_object_ids(f"header\n{row}\n", "d.tsv") == [OID]
    with pytest.raises(ManifestError, match=r"d\.tsv line 2: expected 11"):
        download_object_ids("header\na\tb\tc\td\n", "d.tsv")


def test_md5s_are_accepted_as_hex_or_base64() -> None:
    assert normalized_md5(MD5.upper()) == MD5
    assert normalized_md5("nhB9nTcrtoJr2B01QqQZ1g==") == MD5
    assert normalized_md5("not an md5") is None
    assert normalized_md5(None) is None


def test_layouts_and_unsafe_names(tmp_path: Path) -> None:
    entity = Entity(OID, "a.bam", "AN1", "S", "open")
    assert target_path(tmp_path, "filename", OID, entity) == tmp_path / "a.bam"
    assert target_path(tmp_path, "bundle", OID, entity) == tmp_path / "AN1" / "a.bam"
    assert target_path(tmp_path, "id", OID, entity) == tmp_path / OID
    for name in ("../evil", "..", "a/b", ""):
        with pytest.raises(Exception, match="unsafe name"):
            target_path(tmp_path, "filename", OID, Entity(OID, name, "AN1", "S", "open"))


def test_index_files_are_found_by_name_in_the_same_analysis() -> None:
    bam = Entity("1", "x.bam", "A", "S", "open")
    others = [Entity("2", "x.txt", "A", "S", "open"), Entity("3", "X.BAM.BAI", "A", "S", "open")]
    assert index_of(bam, others) == others[1]
    assert index_of(bam, [Entity("4", "x.bai", "A", "S", "open")]).id == "4"  # type: ignore[union-attr]
    assert index_of(bam, others[:1]) is None


def response(status: int, body: str, kind: str) -> httpx.Response:
    return httpx.Response(
        status,
        text=body,
        headers={"content-type": kind},
        request=httpx.Request("GET", "http://broker/x"),
    )


def test_server_messages_are_one_line_whatever_the_body() -> None:
    spring = response(
        403, '{"status":403,"message":"Token lacks score.S.READ"}', "application/json"
    )
    assert server_message(spring) == "Token lacks score.S.READ"
    song = response(
        404, '{"errorId":"analysis.id.not.found","message":"no such"}', "application/json"
    )
    assert server_message(song) == "no such (analysis.id.not.found)"
    html = response(502, "<html><body>Bad gateway</body></html>", "text/html")
    assert server_message(html) == "the server answered with an HTML error page (Bad Gateway)"
    xml = response(
        403,
        "<?xml version='1.0'?><Error><Code>AccessDenied</Code>"
        "<Message>Request has expired</Message></Error>",
        "application/xml",
    )
    assert server_message(xml) == "AccessDenied: Request has expired"


def test_statuses_map_to_what_the_client_does() -> None:
    assert isinstance(service_error("x", response(401, "", "text/plain")), AccessRefused)
    assert "ACCESSTOKEN" in str(service_error("x", response(401, "", "text/plain")))
    assert isinstance(service_error("x", response(403, "", "text/plain")), AccessRefused)
    assert isinstance(service_error("x", response(404, "", "text/plain")), NotFound)
    assert isinstance(service_error("x", response(503, "", "text/plain")), Retryable)
    assert not isinstance(service_error("x", response(500, "", "text/plain")), Retryable)


def test_portal_manifests_are_read_by_their_object_id_column() -> None:
    """ARGO's and ICGC's portals name the column; its place and the others vary."""
    first, second = "5d0a4d8e-3b7c-4a6f-9a43-0f4a1c2b3d4e", "6e1b5e9f-4c8d-4b7a-8b54-1a5b2d3c4e5f"
    argo = (
        "donor_id\tfile_id\tobject_id\tfile_name\tfile_type\tmd5sum\tsize\tprogram_id\n"
        f"DO1\tFL1\t{first}\ta.bam\tBAM\t{'a' * 32}\t10\tTEST-CA\n"
        f"DO2\tFL2\t{second}\tb.bam\tBAM\t{'b' * 32}\t20\tTEST-CA\n"
    )
    assert download_object_ids(argo, "argo.tsv") == [first, second]
    quoted = f'"Object ID"\t"File Name"\n{first}\ta.bam\n'
    assert download_object_ids(quoted, "portal.tsv") == [first]


@pytest.mark.parametrize(
    ("given", "found"),
    [
        (OID, OID),
        (f"drs://broker.example.org/{OID}", OID),
        (f"DRS://broker.example.org:8087/{OID}", OID),
        (f"  drs://10.0.0.5/{OID} ", OID),
        (f"drs:///{OID}", None),
        (f"drs://host/a/{OID}", None),
        ("drs://host/not-a-uuid", None),
        (f"https://host/{OID}", None),
        ("", None),
    ],
)
def test_an_object_id_is_a_uuid_or_a_drs_uri(given: str, found: str | None) -> None:
    assert object_id_from(given) == found


def test_requests_and_manifests_take_drs_uris_as_object_ids() -> None:
    uri = f"drs://broker.example.org/{OID}"
    assert DownloadRequest(object_ids=(uri,)).object_ids == (OID,)
    assert SliceRequest(object_ids=(uri,), queries=("chr1",)).object_ids == (OID,)
    assert UploadRequest(files=(Path("a"),), object_id=uri).object_id == OID
    manifest = f"repo_code\tfile_id\tobject_id\nx\ty\t{uri}\n"
    assert download_object_ids(manifest, "m.tsv") == [OID]
    with pytest.raises(RequestError, match="a DRS URI drs://<host>/<uuid>"):
        DownloadRequest(object_ids=("drs://host/nope",))
