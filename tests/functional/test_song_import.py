"""`score-broker song import`: a study copied from one broker's Song into another's, over HTTP,
with the real command run as a subprocess."""

from __future__ import annotations

import copy
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import BrokerFactory
from tests.support.broker import BrokerProcess, free_port
from tests.support.score_client import ScoreClient
from tests.support.song import QC_SCHEMA, SongClient, object_id, payload

STUDY = "MIGRATE"
ALL_STATES = {"analysisStates": "PUBLISHED,UNPUBLISHED,SUPPRESSED"}


def submission(donor: str, files: dict[str, bytes], qc: int | None = None) -> dict[str, Any]:
    """A variantCall (or, with `qc` reads, a qcMetrics) payload for `donor`; files with info."""
    body = payload(STUDY, {name: (content, "controlled") for name, content in files.items()})
    sample = body["samples"][0]
    sample["submitterSampleId"] = f"{donor}-sample"
    sample["specimen"]["submitterSpecimenId"] = f"{donor}-specimen"
    sample["donor"] = {"submitterDonorId": donor, "gender": "Other", "info": {"cohort": "A"}}
    for file in body["files"]:
        file["info"] = {"pipeline": "v2", "lane": file["fileName"]}
    if qc is not None:
        body["analysisType"] = {"name": "qcMetrics"}
        body["metrics"] = {"reads": qc}
    return body


@dataclass
class Migration:
    """A source broker whose Song holds the study, an empty target broker, and the command."""

    source: BrokerProcess
    target: BrokerProcess
    song: SongClient
    token: str
    token_file: Path
    analyses: dict[str, str]

    def run(self, *extra: str, token_file: Path | None = None) -> subprocess.CompletedProcess[str]:
        config = self.target.workdir / f"broker-{self.target.port}.toml"
        command = [sys.executable, "-m", "score_broker", "song", "import"]
        command += ["--from", f"{self.source.url}/song", "--study", STUDY]
        command += ["--token-file", str(token_file or self.token_file), "--config", str(config)]
        env = {k: v for k, v in os.environ.items() if not k.startswith("SCORE_BROKER_")}
        result = subprocess.run(
            [*command, *extra], capture_output=True, text=True, env=env, timeout=120
        )
        assert self.token not in result.stdout + result.stderr
        return result

    def both(self, path: str, **params: Any) -> tuple[Any, Any]:
        """The same Song read from the source and the target."""
        target = SongClient(f"{self.target.url}/song")
        try:
            there = target.http.get(path, params=params)
            here = self.song.http.get(path, params=params)
            assert here.status_code == there.status_code == 200, there.text
            return here.json(), there.json()
        finally:
            target.close()


@pytest.fixture
def migration(
    broker_factory: BrokerFactory, tmp_path: Path, song_database: str
) -> Iterator[Migration]:
    """A source broker with a study to copy, and a target on each database backend."""
    brokers = []
    for side in ("source", "target"):
        storage = {"backend": "local", "local": {"directory": str(tmp_path / f"{side}-store")}}
        brokers.append(
            broker_factory(
                storage,
                song={"url": "embedded"},
                auth={"enabled": True},
                data_directory=str(tmp_path / f"{side}-data"),
                database=song_database if side == "target" else "",
            )
        )
    source, target = brokers
    token = (tmp_path / "source-data" / "admin-key").read_text().strip()
    token_file = tmp_path / "source-token"
    token_file.write_text(token + "\n")
    song = SongClient(f"{source.url}/song", token)
    assert song.create_study(STUDY).status_code == 200
    registration = {
        "name": "qcMetrics",
        "schema": copy.deepcopy(QC_SCHEMA),
        "options": {"fileTypes": ["VCF"]},
    }
    assert song.http.post("/schemas", json=registration).status_code == 200

    def submit(body: dict[str, Any], **params: Any) -> str:
        response = song.submit(STUDY, body, **params)
        assert response.status_code == 200, response.text
        return str(response.json()["analysisId"])

    published_files = {"calls.vcf.gz": os.urandom(700), "calls.vcf.gz.tbi": os.urandom(90)}
    analyses = {
        "qc v1": submit(submission("donor-1", {"qc1.vcf": os.urandom(50)}, qc=1000)),
        "published": submit(submission("donor-2", published_files)),
        "suppressed": submit(submission("donor-3", {"gone.vcf": os.urandom(60)})),
        # The same bytes again, as Song takes them with allowDuplicates.
        "duplicate": submit(submission("donor-2", published_files), allowDuplicates="true"),
    }
    registration["schema"]["properties"]["metrics"]["properties"]["bases"] = {"type": "integer"}
    assert song.http.post("/schemas", json=registration).json()["version"] == 2
    analyses["qc v2"] = submit(submission("donor-1", {"qc2.vcf": os.urandom(55)}, qc=2000))
    with ScoreClient(source.url, token=token) as client:
        for name, content in published_files.items():
            client.upload(object_id(analyses["published"], name), content)
    assert song.publish(STUDY, analyses["published"]).status_code == 200
    assert song.suppress(STUDY, analyses["suppressed"]).status_code == 200
    yield Migration(source, target, song, token, token_file, analyses)
    song.close()


def test_a_study_is_copied_with_its_ids_states_types_and_entities(migration: Migration) -> None:
    first = migration.run()
    assert first.returncode == 0, first.stderr
    lines = first.stdout.splitlines()
    assert lines[0] == f"created study {STUDY}"
    assert sorted(line.split()[0] for line in lines[1:]) == ["imported"] * 5
    assert "registered qcMetrics v1" in first.stdout
    assert first.stderr.strip().endswith(
        "5 imported, 0 already present, 0 conflicting, 0 failed"
    ), first.stderr
    assert len(first.stderr.splitlines()) == 1

    source, target = migration.both(f"/studies/{STUDY}/analysis", **ALL_STATES)
    # Ids, object ids, states, state history, dates, types, samples, files with their info.
    assert target == source
    states = {a["analysisId"]: a["analysisState"] for a in target}
    assert states == {
        migration.analyses["qc v1"]: "UNPUBLISHED",
        migration.analyses["qc v2"]: "UNPUBLISHED",
        migration.analyses["published"]: "PUBLISHED",
        migration.analyses["suppressed"]: "SUPPRESSED",
        migration.analyses["duplicate"]: "UNPUBLISHED",
    }
    types = {a["analysisId"]: a["analysisType"] for a in target}
    assert types[migration.analyses["qc v1"]] == {"name": "qcMetrics", "version": 1}
    assert types[migration.analyses["qc v2"]] == {"name": "qcMetrics", "version": 2}
    for path in (f"/export/studies/{STUDY}", f"/studies/{STUDY}", f"/studies/{STUDY}/all"):
        source, target = migration.both(path)
        assert target == source, path
    source, target = migration.both("/entities", projectCode=STUDY, size=100)
    assert target["content"] == source["content"]
    assert target["totalElements"] == 7
    source, target = migration.both("/schemas", names="qcMetrics", unrenderedOnly="true")
    assert [(t["version"], t["schema"]) for t in target["resultSet"]] == [
        (s["version"], s["schema"]) for s in source["resultSet"]
    ]

    again = migration.run()
    assert again.returncode == 0, again.stderr
    assert [line.split()[:2] for line in again.stdout.splitlines()] == [["already", "present"]] * 5
    assert "0 imported, 5 already present, 0 conflicting" in again.stderr


def test_an_analysis_changed_at_the_source_is_reported_and_left_alone(
    migration: Migration,
) -> None:
    assert migration.run().returncode == 0
    changed = migration.analyses["qc v1"]
    assert migration.song.suppress(STUDY, changed).status_code == 200

    rerun = migration.run()
    assert rerun.returncode == 1
    conflicts = [line for line in rerun.stdout.splitlines() if line.startswith("conflicting")]
    assert conflicts == [
        f"conflicting      {changed}  it is UNPUBLISHED here and SUPPRESSED at the source; "
        "left as it is"
    ]
    assert "0 imported, 4 already present, 1 conflicting" in rerun.stderr
    target = SongClient(f"{migration.target.url}/song")
    assert target.analysis(STUDY, changed).json()["analysisState"] == "UNPUBLISHED"
    target.close()


def test_failures_are_one_line_saying_what_to_do(migration: Migration, tmp_path: Path) -> None:
    wrong_token = str(uuid.uuid4())
    wrong = tmp_path / "wrong-token"
    wrong.write_text(wrong_token)
    refused = migration.run(token_file=wrong)
    assert refused.returncode == 2
    assert refused.stdout == ""
    assert refused.stderr.count("\n") == 1
    assert refused.stderr.startswith(f"score-broker: Song at {migration.source.url}/song refused")
    assert "HTTP 401" in refused.stderr
    assert "--token-file" in refused.stderr
    assert wrong_token not in refused.stderr

    unknown = migration.run("--study", "NOPE")
    assert unknown.returncode == 2
    assert unknown.stderr == (
        f"score-broker: Song at {migration.source.url}/song has no study 'NOPE'; check --study "
        f"(GET {migration.source.url}/song/studies/all lists them)\n"
    )

    nowhere = f"http://127.0.0.1:{free_port()}/song"
    unreachable = migration.run("--from", nowhere)
    assert unreachable.returncode == 2
    assert unreachable.stderr.startswith(f"score-broker: cannot reach Song at {nowhere}")
    assert unreachable.stderr.count("\n") == 1

    # Nothing was imported by the failed runs.
    target = SongClient(f"{migration.target.url}/song")
    assert target.http.get("/studies/all").json() == []
    target.close()
