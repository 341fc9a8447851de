"""The embedded Song driven over HTTP as Song clients drive it, with uploads through the broker."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import BrokerFactory
from tests.support.broker import BrokerProcess
from tests.support.score_client import ScoreClient
from tests.support.song import QC_SCHEMA, SongClient, assert_song_error, object_id, payload


@pytest.fixture
def secure_broker(
    broker_factory: BrokerFactory, tmp_path: Path, song_database: str
) -> BrokerProcess:
    """A broker with the embedded Song on each database backend, authorization on."""
    storage = {"backend": "local", "local": {"directory": str(tmp_path / "store")}}
    return broker_factory(
        storage, song={"url": "embedded"}, auth={"enabled": True}, database=song_database
    )


@pytest.fixture
def admin_key(secure_broker: BrokerProcess, tmp_path: Path) -> str:
    return (tmp_path / "data" / "admin-key").read_text().strip()


@pytest.fixture
def song(secure_broker: BrokerProcess, admin_key: str) -> Iterator[SongClient]:
    client = SongClient(f"{secure_broker.url}/song", admin_key)
    yield client
    client.close()


def test_study_submit_upload_publish_cycle(
    secure_broker: BrokerProcess, song: SongClient, admin_key: str, tmp_path: Path
) -> None:
    assert song.http.get("/isAlive").json() is True
    assert song.create_study("TEST-CA").status_code == 200
    assert_song_error(song.create_study("TEST-CA"), 409, "study.already.exists")
    assert song.http.get("/studies/TEST-CA").json()["studyId"] == "TEST-CA"
    assert song.http.get("/studies/all").json() == ["TEST-CA"]
    assert_song_error(song.http.get("/studies/NOPE"), 404, "study.id.does.not.exist")

    files = {
        "a.vcf.gz": (os.urandom(3000), "open"),
        "a.vcf.gz.tbi": (os.urandom(200), "controlled"),
    }
    submitted = song.submit("TEST-CA", payload("TEST-CA", files))
    assert submitted.status_code == 200, submitted.text
    analysis_id = submitted.json()["analysisId"]
    assert submitted.json()["status"] == "OK"

    analysis = song.analysis("TEST-CA", analysis_id).json()
    assert analysis["analysisState"] == "UNPUBLISHED"
    assert analysis["experiment"]["variantCallingTool"] == "t"
    listed = song.http.get(f"/studies/TEST-CA/analysis/{analysis_id}/files").json()
    assert [f["objectId"] for f in listed] == [object_id(analysis_id, n) for n in files]
    ids = {name: object_id(analysis_id, name) for name in files}
    entity = song.http.get(f"/entities/{ids['a.vcf.gz']}").json()
    assert entity == {
        "id": ids["a.vcf.gz"], "gnosId": analysis_id, "fileName": "a.vcf.gz",
        "projectCode": "TEST-CA", "access": "open",
    }  # fmt: skip
    page = song.http.get(
        "/entities", params={"gnosId": analysis_id, "projectCode": "TEST-CA", "size": 1}
    ).json()
    assert page["last"] is False
    assert page["totalElements"] == 2
    last = song.http.get("/entities", params={"gnosId": analysis_id, "size": 1, "page": 1}).json()
    assert last["last"] is True
    projected = song.http.get("/entities", params=[("fields", "id"), ("fields", "fileName")])
    assert set(projected.json()["content"][0]) == {"id", "fileName"}
    assert_song_error(
        song.http.get("/entities", params={"sort": "id"}), 400, "illegal.query.parameter"
    )

    # Publishing before the files are uploaded names what is missing.
    missing = song.publish("TEST-CA", analysis_id)
    assert_song_error(missing, 409, "missing.storage.objects")
    assert ids["a.vcf.gz"] in missing.json()["message"]

    with ScoreClient(secure_broker.url, token=admin_key) as client:
        for name, (content, _) in files.items():
            client.upload(ids[name], content)
        # URLs only for PUBLISHED analyses; Song's publish check still gets the spec.
        blocked = client.service.get(
            f"/download/{ids['a.vcf.gz']}", params={"offset": 0, "length": -1}
        )
        assert blocked.status_code == 400
        assert "exclude-urls" in blocked.json()["message"]

        assert song.publish("TEST-CA", analysis_id).status_code == 200
        published = song.analysis("TEST-CA", analysis_id).json()
        assert published["analysisState"] == "PUBLISHED"
        assert published["publishedAt"] is not None
        destination = tmp_path / "a.vcf.gz"
        client.download(ids["a.vcf.gz"], destination)
        assert destination.read_bytes() == files["a.vcf.gz"][0]

        # A published analysis takes no uploads.
        again = client.service.post(
            f"/upload/{ids['a.vcf.gz']}/uploads", params={"fileSize": 3000, "overwrite": "true"}
        )
        assert again.status_code == 400
        assert "UNPUBLISHED" in again.json()["message"]

    assert song.unpublish("TEST-CA", analysis_id).status_code == 200
    assert song.suppress("TEST-CA", analysis_id).status_code == 200
    assert_song_error(song.unpublish("TEST-CA", analysis_id), 400, "suppressed.state.transition")
    assert_song_error(song.publish("TEST-CA", analysis_id), 400, "suppressed.state.transition")
    history = song.analysis("TEST-CA", analysis_id).json()["analysisStateHistory"]
    assert [h["updatedState"] for h in history] == ["PUBLISHED", "UNPUBLISHED", "SUPPRESSED"]


def test_publish_compares_sizes_and_md5s(
    secure_broker: BrokerProcess, song: SongClient, admin_key: str
) -> None:
    song.create_study("ABC123")
    content = os.urandom(1000)
    analysis_id = song.submit("ABC123", payload("ABC123", {"x.vcf": (content, "open")})).json()[
        "analysisId"
    ]
    oid = object_id(analysis_id, "x.vcf")
    with ScoreClient(secure_broker.url, token=admin_key) as client:
        # An upload declaring no MD5 gets past initiate; publish finds the other bytes.
        other = os.urandom(1000)
        params = {"fileSize": len(other), "overwrite": "true"}
        spec = client.check(client.service.post(f"/upload/{oid}/uploads", params=params)).json()
        client.upload_parts(oid, spec, other, spec["parts"])
        client.finalize(oid, spec["uploadId"])
        assert_song_error(
            song.publish("ABC123", analysis_id), 409, "mismatching.storage.object.checksums"
        )
        client.upload(oid, content, force=True)
    assert song.publish("ABC123", analysis_id).status_code == 200


def test_initiate_refuses_bytes_song_does_not_describe(
    secure_broker: BrokerProcess, song: SongClient, admin_key: str
) -> None:
    """Song's record is checked at initiate (Score checks the MD5; the size is checked too):
    one line with both values, and no upload is started."""
    song.create_study("INIT")
    content = os.urandom(1000)
    analysis_id = song.submit("INIT", payload("INIT", {"x.vcf": (content, "open")})).json()[
        "analysisId"
    ]
    oid = object_id(analysis_id, "x.vcf")
    with ScoreClient(secure_broker.url, token=admin_key) as client:
        longer = client.initiate_raw(oid, content + b"!")
        assert longer.status_code == 400
        assert "fileSize 1001" in longer.json()["message"]
        assert "1000 bytes Song registered" in longer.json()["message"]
        other = os.urandom(1000)
        changed = client.initiate_raw(oid, other)
        assert changed.status_code == 400
        assert hashlib.md5(other).hexdigest() in changed.json()["message"]  # noqa: S324
        assert hashlib.md5(content).hexdigest() in changed.json()["message"]  # noqa: S324
        status = client.service.get(f"/upload/{oid}/status", params={"fileSize": 1000})
        assert status.status_code == 404  # nothing was started
        client.upload(oid, content)
    assert song.publish("INIT", analysis_id).status_code == 200


def test_submit_validation_and_duplicates(song: SongClient) -> None:
    song.create_study("XYZ")
    content = os.urandom(100)
    bad = payload("XYZ", {"bad name.vcf": (content, "open")})
    assert_song_error(song.submit("XYZ", bad), 400, "schema.violation")
    wrong_md5 = payload("XYZ", {"x.vcf": (content, "open")})
    wrong_md5["files"][0]["fileMd5sum"] = "not-an-md5"
    assert_song_error(song.submit("XYZ", wrong_md5), 400, "schema.violation")
    wrong_access = payload("XYZ", {"x.vcf": (content, "public")})
    assert_song_error(song.submit("XYZ", wrong_access), 400, "schema.violation")
    assert_song_error(song.submit("NOPE", payload("NOPE", {})), 404, "study.id.does.not.exist")
    assert_song_error(song.submit("XYZ", payload("OTHER", {"x.vcf": (content, "open")})), 409,
                      "study.id.mismatch")  # fmt: skip
    unknown_type = payload("XYZ", {"x.vcf": (content, "open")})
    unknown_type["analysisType"] = {"name": "nosuchtype"}
    assert_song_error(song.submit("XYZ", unknown_type), 404, "analysis.type.not.found")
    not_json = song.http.post("/submit/XYZ", content=b"{nope")
    assert_song_error(not_json, 422, "payload.parsing")

    good = payload("XYZ", {"x.vcf": (content, "open")})
    assert song.submit("XYZ", good).status_code == 200
    assert_song_error(song.submit("XYZ", good), 409, "info.already.exists")
    assert song.submit("XYZ", good, allowDuplicates="true").status_code == 200


def test_a_duplicate_md5_names_only_a_file_of_the_same_study(song: SongClient) -> None:
    content = os.urandom(100)
    for study in ("DUP-A", "DUP-B"):
        song.create_study(study)
    submitted = song.submit("DUP-A", payload("DUP-A", {"d.vcf": (content, "open")}))
    assert submitted.status_code == 200, submitted.text
    in_a = object_id(submitted.json()["analysisId"], "d.vcf")
    # As in Song, a file of any study refuses the MD5; another study's file is not named.
    elsewhere = song.submit("DUP-B", payload("DUP-B", {"d.vcf": (content, "open")}))
    assert_song_error(elsewhere, 409, "info.already.exists")
    assert in_a not in elsewhere.json()["message"]
    assert "another study" in elsewhere.json()["message"]
    again = song.submit("DUP-A", payload("DUP-A", {"d.vcf": (content, "open")}))
    assert_song_error(again, 409, "info.already.exists")
    assert in_a in again.json()["message"]
    allowed = song.submit(
        "DUP-B", payload("DUP-B", {"d.vcf": (content, "open")}), allowDuplicates=True
    )
    assert allowed.status_code == 200, allowed.text


def test_schemas_are_seeded(song: SongClient) -> None:
    listing = song.http.get("/schemas", params={"hideSchema": "true"}).json()
    names = {item["name"] for item in listing["resultSet"]}
    assert {"variantCall", "sequencingRead"} <= names
    assert listing["count"] >= 2
    variant = song.http.get("/schemas/variantCall").json()
    assert variant["version"] == 1
    assert "experiment" in variant["schema"]["required"]
    assert "files" in variant["schema"]["properties"]  # rendered with the base schema
    assert_song_error(song.http.get("/schemas/nope"), 404, "analysis.type.not.found")


def test_song_writes_need_song_scopes(secure_broker: BrokerProcess, song: SongClient) -> None:
    anonymous = SongClient(f"{secure_broker.url}/song")
    assert_song_error(anonymous.create_study("ANON"), 401, "unauthorized.token")
    assert anonymous.http.get("/isAlive").status_code == 200  # reads stay open
    anonymous.close()


def test_a_read_with_an_invalid_token_is_refused(song: SongClient) -> None:
    """As Song's bearer-token filter does: reads are open, but a token sent must be valid."""
    song.create_study("OPEN")
    assert song.http.get("/studies/OPEN").status_code == 200
    forged = song.http.get(
        "/studies/OPEN", headers={"Authorization": "Bearer 8f1e2c44-3a0b-4c55-9d3e-1b2a3c4d5e6f"}
    )
    assert_song_error(forged, 401, "unauthorized.token")


def test_object_ids_follow_songs_formula() -> None:
    # LocalIdServiceTest's vector, as the contract records it.
    assert object_id("parameter1_1", "parameter2_1") == "8540ebac-66f2-553a-b865-0d3006edd892"


def test_an_upload_begun_before_publish_cannot_replace_published_bytes(
    secure_broker: BrokerProcess, song: SongClient, admin_key: str, tmp_path: Path
) -> None:
    song.create_study("PUB")
    original, replacement = os.urandom(1000), os.urandom(1000)
    analysis_id = song.submit("PUB", payload("PUB", {"p.vcf": (original, "open")})).json()[
        "analysisId"
    ]
    oid = object_id(analysis_id, "p.vcf")
    with ScoreClient(secure_broker.url, token=admin_key) as client:
        client.upload(oid, original)
        params = {"fileSize": len(replacement), "overwrite": "true"}  # no MD5: initiate cannot tell
        spec = client.check(client.service.post(f"/upload/{oid}/uploads", params=params)).json()
        client.upload_parts(oid, spec, replacement, spec["parts"])
        assert song.publish("PUB", analysis_id).status_code == 200
        late = client.service.post(f"/upload/{oid}", params={"uploadId": spec["uploadId"]})
        assert late.status_code == 400
        assert "UNPUBLISHED" in late.json()["message"]
        destination = tmp_path / "p.vcf"
        client.download(oid, destination)
    assert destination.read_bytes() == original


def test_bad_values_are_song_errors_not_crashes(song: SongClient) -> None:
    song.create_study("BIG")
    huge = payload("BIG", {"h.vcf": (b"x", "open")})
    huge["files"][0]["fileSize"] = 2**70
    assert_song_error(song.submit("BIG", huge), 400, "schema.violation")
    reserved = payload("BIG", {"r.vcf": (b"y", "open")})
    reserved["publishedAt"] = "yesterday"
    assert_song_error(song.submit("BIG", reserved), 400, "schema.violation")
    assert_song_error(
        song.http.get("/entities", params={"page": 10**20}), 400, "illegal.query.parameter"
    )
    odd = song.http.post("/studies/ODD/", json={"studyId": "ODD", "name": {"a": 1}})
    assert_song_error(odd, 422, "payload.parsing")


def test_development_mode_ignores_tokens(broker_factory: BrokerFactory, tmp_path: Path) -> None:
    storage = {"backend": "local", "local": {"directory": str(tmp_path / "store")}}
    broker = broker_factory(storage, song={"url": "embedded"}, auth={"enabled": False})
    placeholder = SongClient(f"{broker.url}/song", "ad83ebde-a55c-11e7-abc4-cec278b6b50a")
    assert placeholder.create_study("DEV").status_code == 200
    placeholder.close()


def test_donors_specimens_and_samples_are_read_as_song_serves_them(song: SongClient) -> None:
    for study in ("CLIN", "OTHER"):
        song.create_study(study)
    submitted = song.submit("CLIN", payload("CLIN", {"k.vcf": (os.urandom(50), "open")}))
    analysis = song.analysis("CLIN", submitted.json()["analysisId"]).json()
    sample = analysis["samples"][0]
    ids = {
        "donors": sample["donor"]["donorId"],
        "specimens": sample["specimen"]["specimenId"],
        "samples": sample["sampleId"],
    }
    whole = song.http.get("/studies/CLIN/all").json()
    assert whole["studyId"] == "CLIN"
    donor = whole["donors"][0]
    assert (donor["donorId"], donor["submitterDonorId"], donor["gender"]) == (
        ids["donors"], "donor-1", "Female",
    )  # fmt: skip
    specimen = donor["specimens"][0]
    assert (specimen["specimenId"], specimen["donorId"]) == (ids["specimens"], ids["donors"])
    assert specimen["samples"][0]["sampleId"] == ids["samples"]
    assert specimen["samples"][0]["submitterSampleId"] == "sample-1"
    for kind, entity_id in ids.items():
        one = song.http.get(f"/studies/CLIN/{kind}/{entity_id}")
        assert one.status_code == 200, one.text
        assert one.json()[f"{kind[:-1]}Id"] == entity_id
        assert one.json()["info"] == {}
        assert_song_error(
            song.http.get(f"/studies/OTHER/{kind}/{entity_id}"), 400, "entity.not.related.to.study"
        )
        assert_song_error(
            song.http.get(f"/studies/CLIN/{kind}/DOES-NOT-EXIST"),
            404,
            f"{kind[:-1]}.does.not.exist",
        )
    assert_song_error(song.http.get("/studies/NOPE/all"), 404, "study.id.does.not.exist")
    assert song.http.get("/studies/OTHER/all").json()["donors"] == []


def test_a_files_update_follows_songs_rules(
    secure_broker: BrokerProcess, song: SongClient, admin_key: str
) -> None:
    song.create_study("UPD")
    content = os.urandom(300)
    analysis_id = song.submit("UPD", payload("UPD", {"u.vcf": (content, "open")})).json()[
        "analysisId"
    ]
    oid = object_id(analysis_id, "u.vcf")
    path = f"/studies/UPD/files/{oid}"
    anonymous = httpx.put(f"{secure_broker.url}/song{path}", json={"fileAccess": "controlled"})
    assert anonymous.status_code == 401

    access = song.http.put(path, json={"fileAccess": "controlled", "info": {"lane": 3}})
    assert access.status_code == 200, access.text
    assert access.json()["fileUpdateType"] == "METADATA_UPDATE"
    assert access.json()["originalFile"]["fileAccess"] == "open"
    assert song.http.get(path).json()["fileAccess"] == "controlled"
    assert song.http.get(path).json()["info"] == {"lane": 3}
    assert song.http.get(f"/entities/{oid}").json()["access"] == "controlled"  # Score sees it

    same = song.http.put(path, json={"fileAccess": "controlled"}).json()
    assert same["fileUpdateType"] == "NO_UPDATE"
    assert_song_error(
        song.http.put(path, json={"fileAccess": "public"}), 400, "invalid.file.update.request"
    )
    assert_song_error(song.http.put(path, json={"fileSize": 0}), 400, "invalid.file.update.request")

    resized = song.http.put(path, json={"fileSize": 301, "fileMd5sum": "A" * 32}).json()
    assert resized["fileUpdateType"] == "CONTENT_UPDATE"
    assert song.http.get(path).json()["fileMd5sum"] == "a" * 32
    digest = hashlib.md5(content).hexdigest()  # noqa: S324
    restored = song.http.put(path, json={"fileSize": len(content), "fileMd5sum": digest})
    assert restored.json()["fileUpdateType"] == "CONTENT_UPDATE"
    with ScoreClient(secure_broker.url, token=admin_key) as client:
        client.upload(oid, content)
    assert song.publish("UPD", analysis_id).status_code == 200
    assert_song_error(song.http.put(path, json={"fileSize": 5}), 400, "illegal.file.update.request")
    assert song.http.put(path, json={"dataType": "Other"}).json()["fileUpdateType"] == (
        "METADATA_UPDATE"
    )
    assert song.suppress("UPD", analysis_id).status_code == 200
    assert_song_error(
        song.http.put(path, json={"dataType": "Again"}), 400, "illegal.file.update.request"
    )


def test_an_analysis_is_updated_and_patched_as_in_song(
    secure_broker: BrokerProcess, song: SongClient
) -> None:
    song.create_study("AUP")
    submitted = song.submit("AUP", payload("AUP", {"a.vcf": (os.urandom(40), "open")}))
    analysis_id = submitted.json()["analysisId"]
    path = f"/studies/AUP/analysis/{analysis_id}"
    before = song.analysis("AUP", analysis_id).json()

    replaced = {
        "analysisType": {"name": "variantCall"},
        "experiment": {"variantCallingTool": "other", "matchedNormalSampleSubmitterId": "s0"},
        "workflow": {"name": "w"},
    }
    assert song.http.put(path, json=replaced).status_code == 200
    after = song.analysis("AUP", analysis_id).json()
    assert after["experiment"]["variantCallingTool"] == "other"
    assert after["workflow"] == {"name": "w"}
    assert after["samples"] == before["samples"]
    assert after["files"] == before["files"]

    patched = song.http.patch(
        path, json={"workflow": None, "experiment": {"variantCallingTool": "p"}}
    )
    assert patched.status_code == 200, patched.text
    now = song.analysis("AUP", analysis_id).json()
    assert "workflow" not in now
    assert now["experiment"] == {"variantCallingTool": "p", "matchedNormalSampleSubmitterId": "s0"}

    assert_song_error(song.http.put(path, json={"workflow": {}}), 400, "malformed.parameter")
    no_experiment = {"analysisType": {"name": "variantCall"}, "workflow": {}}
    assert_song_error(song.http.put(path, json=no_experiment), 400, "schema.violation")
    files = {**replaced, "files": []}
    assert_song_error(song.http.put(path, json=files), 400, "schema.violation")
    assert_song_error(song.http.patch(path, json={"experiment": None}), 400, "schema.violation")
    anonymous = httpx.patch(f"{secure_broker.url}/song{path}", json={"workflow": {}})
    assert anonymous.status_code == 401
    assert song.analysis("AUP", analysis_id).json() == now  # nothing refused was stored


def test_an_export_submits_again_as_the_same_analysis(song: SongClient) -> None:
    for study in ("EXP", "EXP2"):
        song.create_study(study)
    submitted = song.submit("EXP", payload("EXP", {"e.vcf": (os.urandom(70), "controlled")}))
    analysis_id = submitted.json()["analysisId"]
    original = song.analysis("EXP", analysis_id).json()

    study_export = song.http.get("/export/studies/EXP").json()
    assert [e["studyId"] for e in study_export] == ["EXP"]
    exported = study_export[0]["payloads"][0]
    assert song.http.get(f"/export/analysis/{analysis_id}").json() == study_export
    assert "analysisId" not in exported
    assert "objectId" not in exported["files"][0]
    assert "sampleId" not in exported["samples"][0]

    again = {**exported, "studyId": "EXP2"}
    resubmitted = song.submit("EXP2", again, allowDuplicates=True)
    assert resubmitted.status_code == 200, resubmitted.text
    copy = song.analysis("EXP2", resubmitted.json()["analysisId"]).json()
    for field in ("analysisType", "experiment"):
        assert copy[field] == original[field]
    assert [f["fileMd5sum"] for f in copy["files"]] == [f["fileMd5sum"] for f in original["files"]]
    assert copy["samples"][0]["submitterSampleId"] == original["samples"][0]["submitterSampleId"]
    assert song.http.get("/export/studies/EXP2").json()[0]["payloads"][0] == again
    assert_song_error(song.http.get("/export/analysis/not-an-id"), 404, "analysis.id.not.found")


def test_analyses_are_found_by_their_ids(song: SongClient) -> None:
    song.create_study("IDS")
    first = song.submit("IDS", payload("IDS", {"i.vcf": (os.urandom(80), "open")})).json()
    other = payload("IDS", {"j.vcf": (os.urandom(81), "open")})
    other["samples"][0]["submitterSampleId"] = "sample-2"
    other["samples"][0]["specimen"]["submitterSpecimenId"] = "specimen-2"
    second = song.submit("IDS", other).json()
    analysis = song.analysis("IDS", first["analysisId"]).json()
    sample = analysis["samples"][0]

    def found(**params: str) -> list[str]:
        answer = song.http.get("/studies/IDS/analysis/search/id", params=params)
        assert answer.status_code == 200, answer.text
        return sorted(a["analysisId"] for a in answer.json())

    both = sorted([first["analysisId"], second["analysisId"]])
    assert found(donorId=sample["donor"]["donorId"]) == both  # one donor, two samples
    assert found(submitterSampleId="sample-2") == [second["analysisId"]]
    assert found(sampleId=sample["sampleId"]) == [first["analysisId"]]
    assert found(fileId=analysis["files"][0]["objectId"]) == [first["analysisId"]]
    assert found(sampleId=sample["sampleId"], submitterSampleId="sample-2") == []
    assert found(submitterDonorId="sample-.*") == []  # values match exactly
    posted = song.http.post(
        "/studies/IDS/analysis/search/id", json={"objectId": analysis["files"][0]["objectId"]}
    )
    assert [a["analysisId"] for a in posted.json()] == [first["analysisId"]]
    assert_song_error(
        song.http.get("/studies/NOPE/analysis/search/id"), 404, "study.id.does.not.exist"
    )


def test_an_analysis_type_is_registered_and_submissions_meet_it(
    secure_broker: BrokerProcess, song: SongClient
) -> None:
    meta = song.http.get("/schemas/registration").json()
    assert meta["properties"]["properties"]["required"] == ["experiment"]
    registration = {"name": "qcMetrics", "schema": QC_SCHEMA, "options": {"fileTypes": ["VCF"]}}
    first = song.http.post("/schemas", json=registration)
    assert first.status_code == 200, first.text
    assert (first.json()["name"], first.json()["version"]) == ("qcMetrics", 1)
    assert first.json()["options"]["fileTypes"] == ["VCF"]
    assert song.http.post("/schemas", json=registration).json()["version"] == 2

    song.create_study("QC")
    body = payload("QC", {"q.vcf": (os.urandom(90), "open")})
    body["analysisType"] = {"name": "qcMetrics"}
    body["metrics"] = {"reads": 1000}
    assert song.submit("QC", body).status_code == 200
    missing = {k: v for k, v in body.items() if k != "metrics"}
    assert_song_error(song.submit("QC", missing), 400, "schema.violation")
    old = {**body, "analysisType": {"name": "qcMetrics", "version": 1}}
    assert_song_error(song.submit("QC", old), 409, "analysis.type.incorrect.version")

    reserved = {
        **registration,
        "schema": {**QC_SCHEMA, "properties": {**QC_SCHEMA["properties"], "files": {}}},
    }
    assert_song_error(song.http.post("/schemas", json=reserved), 400, "schema.violation")
    bad_name = {**registration, "name": "no spaces"}
    assert_song_error(song.http.post("/schemas", json=bad_name), 400, "malformed.parameter")
    assert_song_error(
        song.http.post("/schemas", json={**registration, "name": "registration"}),
        400,
        "illegal.analysis.type.name",
    )
    anonymous = SongClient(f"{secure_broker.url}/song", None)
    assert_song_error(anonymous.http.post("/schemas", json=registration), 401, "unauthorized.token")
    anonymous.close()
