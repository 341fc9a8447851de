"""GA4GH DRS 1.2.0 on a broker with the embedded Song, on the local store, S3 and Azure: objects
resolved and downloaded as a DRS client does it, with plain httpx, under Score's access rules."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from tests.conftest import BrokerFactory, _storage_for, s3_storage
from tests.support.broker import BrokerProcess
from tests.support.score_client import ScoreClient
from tests.support.song import SongClient, register

DRS = "/ga4gh/drs/v1"
STUDY, OTHER = "DRS-CA", "DRS-XX"
DRS_OBJECT_FIELDS = {
    "id", "self_uri", "size", "created_time", "checksums", "access_methods", "name",
}  # fmt: skip


@dataclass
class Seeded:
    """A broker with an open and a controlled object PUBLISHED, one UNPUBLISHED, and keys."""

    broker: BrokerProcess
    contents: dict[str, bytes]
    ids: dict[str, str]
    admin_key: str
    study_key: str
    other_key: str


def create_key(broker: BrokerProcess, scope: str) -> str:
    config = broker.workdir / f"broker-{broker.port}.toml"
    command = [sys.executable, "-m", "score_broker", "keys", "create", "--scope", scope]
    done = subprocess.run(
        [*command, "--config", str(config)], capture_output=True, text=True, check=True, timeout=60
    )
    return done.stdout.strip()


def seed(broker: BrokerProcess, admin_key: str) -> Seeded:
    contents = {
        "open.vcf.gz": os.urandom(300_000),
        "controlled.bam": os.urandom(70_000),
        "draft.vcf.gz": os.urandom(1000),
    }
    song_url = f"{broker.url}/song"
    published = register(
        song_url,
        STUDY,
        {"open.vcf.gz": (contents["open.vcf.gz"], "open"),
         "controlled.bam": (contents["controlled.bam"], "controlled")},
        admin_key,
    )  # fmt: skip
    draft = register(
        song_url, STUDY, {"draft.vcf.gz": (contents["draft.vcf.gz"], "open")}, admin_key
    )
    ids = {name: published[name] for name in ("open.vcf.gz", "controlled.bam")}
    ids["draft.vcf.gz"] = draft["draft.vcf.gz"]
    with ScoreClient(broker.url, token=admin_key) as client:
        for name, content in contents.items():
            client.upload(ids[name], content)
    song = SongClient(song_url, admin_key)
    try:
        assert song.publish(STUDY, published["analysis"]).status_code == 200
        assert song.create_study(OTHER).status_code == 200
    finally:
        song.close()
    return Seeded(
        broker,
        contents,
        ids,
        admin_key,
        study_key=create_key(broker, f"PROGRAMDATA-{STUDY}.READ"),
        other_key=create_key(broker, f"PROGRAMDATA-{OTHER}.READ"),
    )


@pytest.fixture(params=["local", "moto", "azurite"])
def seeded(request: pytest.FixtureRequest, broker_factory: BrokerFactory, tmp_path: Path) -> Seeded:
    storage = _storage_for(request.param, request, tmp_path / "store")
    broker = broker_factory(storage, song={"url": "embedded"}, auth={"enabled": True})
    return seed(broker, (tmp_path / "data" / "admin-key").read_text().strip())


def bearer(token: str | None) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"} if token else {}


def assert_drs_error(response: httpx.Response, status: int) -> None:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"msg", "status_code"}
    assert body["status_code"] == status
    assert body["msg"]


def access_id(seeded: Seeded) -> str:
    described = httpx.get(f"{seeded.broker.url}{DRS}/objects/{seeded.ids['open.vcf.gz']}").json()
    return str(described["access_methods"][0]["access_id"])


def fetch(seeded: Seeded, name: str, token: str | None) -> bytes:
    """What a DRS client does: resolve the object, ask for an access URL, GET the bytes."""
    base = seeded.broker.url + DRS
    object_id = seeded.ids[name]
    started = datetime.now(UTC)
    described = httpx.get(f"{base}/objects/{object_id}", headers=bearer(token))
    assert described.status_code == 200, described.text
    drs = described.json()
    assert set(drs) == DRS_OBJECT_FIELDS
    assert drs["id"] == object_id
    assert drs["self_uri"] == f"drs://127.0.0.1:{seeded.broker.port}/{object_id}"
    assert drs["name"] == name
    assert drs["size"] == len(seeded.contents[name])
    created = datetime.strptime(drs["created_time"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    assert started - timedelta(minutes=5) < created <= started + timedelta(seconds=1)
    md5 = hashlib.md5(seeded.contents[name]).hexdigest()  # noqa: S324
    assert drs["checksums"] == [{"type": "md5", "checksum": md5}]
    [method] = drs["access_methods"]
    assert set(method) == {"type", "access_id"}
    assert method["type"] == "http"
    access = httpx.get(
        f"{base}/objects/{object_id}/access/{method['access_id']}", headers=bearer(token)
    )
    assert access.status_code == 200, access.text
    assert set(access.json()) == {"url"}
    data = httpx.get(access.json()["url"])
    assert data.status_code == 200
    ranged = httpx.get(access.json()["url"], headers={"Range": "bytes=10-19"})
    assert ranged.status_code == 206
    assert ranged.content == seeded.contents[name][10:20]
    assert hashlib.md5(data.content).hexdigest() == md5  # noqa: S324
    return data.content


def test_service_info(seeded: Seeded) -> None:
    info = httpx.get(f"{seeded.broker.url}{DRS}/service-info").json()
    assert info["type"] == {"group": "org.ga4gh", "artifact": "drs", "version": "1.2.0"}
    assert {"id", "name", "organization", "version"} <= set(info)


def test_open_and_controlled_objects_download(seeded: Seeded) -> None:
    assert fetch(seeded, "open.vcf.gz", None) == seeded.contents["open.vcf.gz"]
    assert fetch(seeded, "controlled.bam", seeded.study_key) == seeded.contents["controlled.bam"]
    assert fetch(seeded, "controlled.bam", seeded.admin_key) == seeded.contents["controlled.bam"]


def test_controlled_object_needs_the_study_scope(seeded: Seeded) -> None:
    base, object_id = seeded.broker.url + DRS, seeded.ids["controlled.bam"]
    for path in (f"/objects/{object_id}", f"/objects/{object_id}/access/{access_id(seeded)}"):
        refused = httpx.get(base + path)
        assert_drs_error(refused, 401)
        assert refused.headers["www-authenticate"].startswith("Bearer")
        assert_drs_error(httpx.get(base + path, headers=bearer(seeded.other_key)), 403)
        assert_drs_error(httpx.get(base + path, headers=bearer("not-a-key")), 401)
    # The rest of the broker keeps Score's error shapes.
    score = httpx.get(f"{seeded.broker.url}/download/{object_id}?offset=0&length=-1")
    assert score.status_code == 401
    assert "message" in score.json()


def test_unpublished_unknown_and_malformed_objects_are_not_found(seeded: Seeded) -> None:
    base, admin = seeded.broker.url + DRS, bearer(seeded.admin_key)
    draft, unknown = seeded.ids["draft.vcf.gz"], str(uuid.uuid4())
    for object_id in (draft, unknown, "not-a-uuid"):
        for token in (None, seeded.study_key, seeded.admin_key):
            assert_drs_error(httpx.get(f"{base}/objects/{object_id}", headers=bearer(token)), 404)
        assert_drs_error(
            httpx.get(f"{base}/objects/{object_id}/access/{access_id(seeded)}", headers=admin),
            404,
        )
    # Asked before the caller's rights, the answer tells an unpublished object from an unknown
    # one by nothing but its id.
    said = [httpx.get(f"{base}/objects/{i}").json()["msg"] for i in (draft, unknown)]
    assert said[0].replace(draft, unknown) == said[1]
    wrong_access = f"{base}/objects/{seeded.ids['open.vcf.gz']}/access/ftp"
    assert_drs_error(httpx.get(wrong_access), 404)
    assert_drs_error(httpx.get(f"{base}/no-such-endpoint"), 404)


#: The GA4GH DRS compliance suite pins old versions of pytest, requests and Flask, so it runs
#: from a virtual environment of its own, made on first use. Its wheel imports jsonschema
#: without declaring it, needs a Werkzeug older than 3 for its Flask 2.2, and imports a module
#: `supported_drs_versions` it does not ship.
COMPLIANCE_SUITE = ("drs-compliance-suite==1.0.3", "jsonschema==4.17.3", "werkzeug==2.2.2")


@pytest.fixture(scope="session")
def compliance_suite() -> Path:
    venv = Path(
        os.environ.get("DRS_COMPLIANCE_VENV")
        or Path.home() / ".cache" / "score-broker-tests" / COMPLIANCE_SUITE[0].replace("==", "-")
    )
    executable = venv / "bin" / "drs-compliance-suite"
    if not executable.exists():
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=300)
        pip = [str(venv / "bin" / "pip"), "install", "-q", *COMPLIANCE_SUITE]
        subprocess.run(pip, check=True, timeout=600)
    return executable


def test_ga4gh_compliance_suite(
    compliance_suite: Path,
    broker_factory: BrokerFactory,
    moto_endpoint: str,
    tmp_path: Path,
) -> None:
    """The suite checks service-info, an open object and a controlled one (bearer token), and
    their access URLs. The broker is published as https (behind a TLS proxy), because DRS
    1.2.0's access method types have no `http`. Not applicable, so not configured: bundles
    (`expand`), passports (POST /objects) and basic auth, which the broker does not offer."""
    storage = s3_storage(moto_endpoint, f"score-{uuid.uuid4().hex[:12]}")
    broker = broker_factory(
        storage,
        song={"url": "embedded"},
        auth={"enabled": True},
        public_url="https://drs.example.org",
    )
    seeded = seed(broker, (tmp_path / "data" / "admin-key").read_text().strip())
    open_object = {"drs_id": seeded.ids["open.vcf.gz"], "auth_type": "none", "auth_token": ""}
    controlled = {
        "drs_id": seeded.ids["controlled.bam"],
        "auth_type": "bearer",
        "auth_token": seeded.study_key,
    }
    objects = [{**o, "is_bundle": False} for o in (open_object, controlled)]
    config = {
        "service_info": {"auth_type": "none", "auth_token": ""},
        "drs_object_info": objects,
        "drs_object_access": objects,
    }
    (tmp_path / "config.json").write_text(json.dumps(config))
    report_path = tmp_path / "report.json"
    command = [
        str(compliance_suite),
        "--server_base_url", f"{broker.url}{DRS}",
        "--platform_name", "score-broker",
        "--platform_description", "score-broker's DRS API",
        "--drs_version", "1.2.0",
        "--config_file", str(tmp_path / "config.json"),
        "--report_path", str(report_path),
    ]  # fmt: skip
    shim = tmp_path / "shim"
    shim.mkdir()
    (shim / "supported_drs_versions.py").write_text('SUPPORTED_DRS_VERSIONS = ["1.2.0"]\n')
    env = {**os.environ, "PYTHONPATH": str(shim)}
    done = subprocess.run(
        command, cwd=tmp_path, env=env, timeout=300, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(report_path.read_text())
    cases = [
        (test["test_name"], case["case_name"], case["status"], case["message"])
        for phase in report["phases"]
        for test in phase["tests"]
        for case in test["cases"]
    ]
    # 3 cases on service-info, 5 on each object, 3 on each access URL.
    assert len(cases) == 3 + 2 * 5 + 2 * 3
    assert [case for case in cases if case[2] != "PASS"] == []
    assert report["summary"]["failed"] == 0
