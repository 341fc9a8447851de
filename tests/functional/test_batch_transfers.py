"""`score-tui --batch upload|download` end to end: a real broker with the embedded Song, on the
local store and on moto, driven as a user drives it (a subprocess with its own XDG directories).
"""

from __future__ import annotations

import hashlib
import os
import stat
from pathlib import Path

import httpx
import pytest

from tests.conftest import BrokerFactory
from tests.support.broker import BrokerProcess
from tests.support.song import SongClient, register
from tests.support.tui import Tui

STUDY = "TEST-CA"


def md5(data: bytes) -> str:
    return hashlib.md5(data, usedforsecurity=False).hexdigest()


def publish(broker: BrokerProcess, analysis_id: str) -> None:
    song = SongClient(f"{broker.url}/song")
    try:
        response = song.publish(STUDY, analysis_id)
        assert response.status_code == 200, response.text
    finally:
        song.close()


def test_upload_then_download_by_object_id(
    tui: Tui, song_broker: BrokerProcess, tmp_path: Path, content_100mb: bytes
) -> None:
    small = os.urandom(5000)
    ids = register(
        f"{song_broker.url}/song",
        STUDY,
        {"big.vcf": (content_100mb, "open"), "small.vcf": (small, "open")},
    )
    source = tmp_path / "source"
    source.mkdir()
    (source / "big.vcf").write_bytes(content_100mb)
    (source / "small.vcf").write_bytes(small)

    status, summary = tui.json(
        "upload",
        "--object-id",
        ids["big.vcf"],
        "--file",
        str(source / "big.vcf"),
        "--md5",
        md5(content_100mb),
    )
    assert status == 0, summary["stderr"]
    assert summary["files"][0]["state"] == "done"
    # Without --md5 the client computes it; a relative path works from the working directory.
    done = tui.run("upload", "--object-id", ids["small.vcf"], "--file", "small.vcf", cwd=source)
    assert done.returncode == 0, done.stderr
    assert "uploaded small.vcf" in done.stderr
    assert sorted(os.listdir(source)) == ["big.vcf", "small.vcf"], "nothing beside the data"
    assert tui.journal_path.exists()

    again = tui.run("upload", "--object-id", ids["small.vcf"], "--file", str(source / "small.vcf"))
    assert again.returncode == 1
    assert "already exists remotely; use --force" in again.stderr
    forced = tui.run(
        "upload", "--object-id", ids["small.vcf"], "--file", str(source / "small.vcf"), "--force"
    )
    assert forced.returncode == 0, forced.stderr

    publish(song_broker, ids["analysis"])
    out = tmp_path / "out"
    # An object id may be given as the DRS URI the broker's DRS service names it by.
    drs_uri = f"drs://{song_broker.url.removeprefix('http://')}/{ids['small.vcf']}"
    status, summary = tui.json(
        "download", "--object-id", ids["big.vcf"], drs_uri, "--output-dir", str(out)
    )
    assert status == 0, summary["stderr"]
    assert (out / "big.vcf").read_bytes() == content_100mb
    assert (out / "small.vcf").read_bytes() == small
    assert sorted(os.listdir(out)) == ["big.vcf", "small.vcf"], "no temporary file is left"
    assert {f["state"] for f in summary["files"]} == {"done"}


def test_one_step_upload_then_analysis_download_with_index(
    tui: Tui, song_broker: BrokerProcess, tmp_path: Path
) -> None:
    source = tmp_path / "run"  # the study does not exist yet: the upload creates it
    source.mkdir()
    files = {
        "reads.bam": os.urandom(30_000_000),
        "reads.bam.bai": os.urandom(4000),
        "notes.txt": os.urandom(100),
    }
    for name, data in files.items():
        (source / name).write_bytes(data)

    status, summary = tui.json(
        "upload",
        "--study",
        STUDY,
        "--access",
        "open",
        "--publish",
        *[arg for name in files for arg in ("--file", str(source / name))],
    )
    assert status == 0, summary["stderr"]
    uploads = [f for f in summary["files"] if f["direction"] == "upload"]
    assert [f["state"] for f in uploads] == ["done"] * 3
    published = [f for f in summary["files"] if f["direction"] == "publish"]
    assert published
    assert published[0]["state"] == "done"
    analysis_id = published[0]["file"]
    bam_id = next(f["objectId"] for f in uploads if f["file"] == "reads.bam")
    log = song_broker.log_text()
    for upload in uploads:  # objects registered by this run: nothing to ask before starting
        assert f"GET /upload/{upload['objectId']}/status" not in log

    bundle = tmp_path / "bundle"
    done = tui.run(
        "download",
        "--analysis-id",
        analysis_id,
        "--study-id",
        STUDY,
        "--output-dir",
        str(bundle),
        "--output-layout",
        "bundle",
    )
    assert done.returncode == 0, done.stderr
    for name, data in files.items():
        assert (bundle / analysis_id / name).read_bytes() == data

    # The index comes with the data file by default (Song bundling), and not with --index false.
    with_index = tmp_path / "with-index"
    assert (
        tui.run("download", "--object-id", bam_id, "--output-dir", str(with_index)).returncode == 0
    )
    assert sorted(os.listdir(with_index)) == ["reads.bam", "reads.bam.bai"]
    without = tmp_path / "without-index"
    assert (
        tui.run(
            "download", "--object-id", bam_id, "--output-dir", str(without), "--index", "false"
        ).returncode
        == 0
    )
    assert os.listdir(without) == ["reads.bam"]
    by_id = tmp_path / "by-id"
    assert (
        tui.run(
            "download",
            "--object-id",
            bam_id,
            "--output-dir",
            str(by_id),
            "--output-layout",
            "id",
            "--index=false",
        ).returncode
        == 0
    )
    assert (by_id / bam_id).read_bytes() == files["reads.bam"]


def test_manifests_in_score_client_formats(
    tui: Tui, song_broker: BrokerProcess, tmp_path: Path
) -> None:
    data = {"a.vcf": os.urandom(2000), "b.vcf": os.urandom(3000)}
    ids = register(f"{song_broker.url}/song", STUDY, {n: (d, "open") for n, d in data.items()})
    work = tmp_path / "work"
    work.mkdir()
    for name, content in data.items():
        (work / name).write_bytes(content)
    lines = [f"{ids['analysis']}\t\t"] + [
        f"{ids[name]}\t{name}\t{md5(content)}" for name, content in data.items()
    ]
    (work / "upload.manifest").write_text("\n".join(lines) + "\n")
    done = tui.run("upload", "--manifest", "upload.manifest", cwd=work)
    assert done.returncode == 0, done.stderr
    publish(song_broker, ids["analysis"])

    header = (
        "repo_code\tfile_id\tobject_id\tfile_format\tfile_name\tfile_size\tmd5_sum\t"
        "index_object_id\tdonor_id/donor_count\tproject_id/project_count\tstudy"
    )
    rows = [
        f"collab\tFI1\t{ids[name]}\tVCF\t{name}\t{len(c)}\t{md5(c)}\t\tDO1\t{STUDY}\t{STUDY}"
        for name, c in data.items()
    ]
    manifest = work / "download.tsv"
    manifest.write_text("\n".join([header, *rows]) + "\n")
    out = tmp_path / "out"
    done = tui.run("download", "--manifest", str(manifest), "--output-dir", str(out))
    assert done.returncode == 0, done.stderr
    assert {p.name: p.read_bytes() for p in out.iterdir()} == data

    printed = tui.run("manifest", "--manifest", str(manifest))
    assert printed.returncode == 0
    assert printed.stdout == manifest.read_text()
    (work / "bad.tsv").write_text(header + "\ncollab\tFI1\tnot-a-uuid\tVCF\n")
    bad = tui.run("download", "--manifest", str(work / "bad.tsv"), "--output-dir", str(out))
    assert bad.returncode == 1
    assert "bad.tsv line 2: 'not-a-uuid' is not a valid UUID" in bad.stderr


def test_a_byte_range_downloads_just_those_bytes(
    tui: Tui, song_broker: BrokerProcess, tmp_path: Path
) -> None:
    content = os.urandom(45_000_000)
    ids = register(f"{song_broker.url}/song", STUDY, {"r.vcf": (content, "open")})
    (tmp_path / "r.vcf").write_bytes(content)
    assert (
        tui.run("upload", "--object-id", ids["r.vcf"], "--file", str(tmp_path / "r.vcf")).returncode
        == 0
    )
    publish(song_broker, ids["analysis"])
    out = tmp_path / "out"
    done = tui.run(
        "download",
        "--object-id",
        ids["r.vcf"],
        "--output-dir",
        str(out),
        "--offset",
        "21000000",
        "--length",
        "22000000",
        "--index",
        "false",
    )
    assert done.returncode == 0, done.stderr
    assert (out / "r.vcf").read_bytes() == content[21_000_000:43_000_000]


def test_downloads_never_overwrite_without_force(
    tui: Tui, song_broker: BrokerProcess, tmp_path: Path
) -> None:
    content = os.urandom(25_000_000)
    ids = register(f"{song_broker.url}/song", STUDY, {"x.vcf": (content, "open")})
    (tmp_path / "x.vcf").write_bytes(content)
    assert (
        tui.run("upload", "--object-id", ids["x.vcf"], "--file", str(tmp_path / "x.vcf")).returncode
        == 0
    )
    publish(song_broker, ids["analysis"])
    out = tmp_path / "out"
    out.mkdir()
    (out / "x.vcf").write_bytes(b"my own notes, not to be lost")

    kept = tui.run("download", "--object-id", ids["x.vcf"], "--output-dir", str(out))
    assert kept.returncode == 0
    assert "already exists; not downloading it again (use --force" in kept.stderr
    assert (out / "x.vcf").read_bytes() == b"my own notes, not to be lost"

    forced = tui.run("download", "--object-id", ids["x.vcf"], "--output-dir", str(out), "--force")
    assert forced.returncode == 0, forced.stderr
    assert (out / "x.vcf").read_bytes() == content
    assert os.listdir(out) == ["x.vcf"]


def test_uploads_from_a_read_only_directory(
    tui: Tui, song_broker: BrokerProcess, tmp_path: Path
) -> None:
    content = os.urandom(3_000_000)
    ids = register(f"{song_broker.url}/song", STUDY, {"ro.vcf": (content, "open")})
    data = tmp_path / "readonly"
    data.mkdir()
    (data / "ro.vcf").write_bytes(content)
    data.chmod(stat.S_IRUSR | stat.S_IXUSR | stat.S_IRGRP | stat.S_IXGRP)
    before = {p.name: p.stat().st_mtime_ns for p in data.iterdir()}
    try:
        done = tui.run(
            "upload", "--object-id", ids["ro.vcf"], "--file", str(data / "ro.vcf"), cwd=data
        )
    finally:
        data.chmod(0o755)
    assert done.returncode == 0, done.stderr
    assert {p.name: p.stat().st_mtime_ns for p in data.iterdir()} == before
    assert tui.journal_path.is_relative_to(tui.home / "state")


def test_failures_name_the_file_and_change_nothing(
    tui: Tui, song_broker: BrokerProcess, tmp_path: Path
) -> None:
    content = os.urandom(1_000_000)
    registered = os.urandom(len(content))  # what Song was told: the file on disk is another
    ids = register(f"{song_broker.url}/song", STUDY, {"m.vcf": (registered, "open")})
    (tmp_path / "m.vcf").write_bytes(content)

    # The declared MD5 is Song's, so the broker lets the upload start; the client finds the
    # file's bytes are not the declared ones.
    wrong = tui.run(
        "upload", "--object-id", ids["m.vcf"], "--file", str(tmp_path / "m.vcf"),
        "--md5", md5(registered),
    )  # fmt: skip
    assert wrong.returncode == 1
    assert (
        f"{tmp_path / 'm.vcf'}: its MD5 is {md5(content)} but {md5(registered)} was declared"
        in wrong.stderr
    )
    assert "Nothing was finalized" in wrong.stderr
    assert httpx.get(f"{song_broker.url}/upload/{ids['m.vcf']}").text == "false"

    # The failed upload is in the journal; a changed file is not mixed with what was sent.
    (tmp_path / "m.vcf").write_bytes(os.urandom(len(content)))
    resumed = tui.run("resume")
    assert resumed.returncode == 1
    assert "changed since its upload began; upload it again" in resumed.stderr
    # Bytes Song does not describe are refused before anything starts; Song's go up.
    refused = tui.run("upload", "--object-id", ids["m.vcf"], "--file", str(tmp_path / "m.vcf"))
    assert refused.returncode == 1
    assert f"{md5(registered)} Song registered" in refused.stderr
    (tmp_path / "m.vcf").write_bytes(registered)
    again = tui.run("upload", "--object-id", ids["m.vcf"], "--file", str(tmp_path / "m.vcf"))
    assert again.returncode == 0, again.stderr
    assert httpx.get(f"{song_broker.url}/upload/{ids['m.vcf']}").text == "true"

    missing = tui.run("upload", "--object-id", ids["m.vcf"], "--file", str(tmp_path / "nope"))
    assert missing.returncode == 1
    assert f"{tmp_path / 'nope'} does not exist" in missing.stderr

    unknown = "3f1c4a55-6f4e-4c34-8a77-0c8f0d0f2a11"
    status, summary = tui.json(
        "download", "--object-id", unknown, "--output-dir", str(tmp_path / "out")
    )
    assert status == 1
    assert "is not registered in Song" in summary["files"][0]["error"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["download", "--object-id", "not-a-uuid"], "not-a-uuid is not a valid UUID"),
        (["download", "--output-dir", "x"], "exactly one of --object-id, --manifest"),
        (["download", "--analysis-id", "a1"], "--analysis-id needs --study-id"),
        (["upload", "--file", "f"], "upload needs --object-id with one --file"),
        (
            ["download", "--object-id", "3f1c4a55-6f4e-4c34-8a77-0c8f0d0f2a11", "--length", "0"],
            "--length positive",
        ),
        (["frobnicate"], "invalid choice"),
    ],
)
def test_usage_errors_exit_2(tmp_path: Path, args: list[str], message: str) -> None:
    done = Tui(tmp_path, "http://127.0.0.1:9").run(*args)
    assert done.returncode == 2
    assert message in done.stderr


def test_a_broker_without_song_serves_the_id_layout(
    broker_factory: BrokerFactory, tmp_path: Path
) -> None:
    storage = {"backend": "local", "local": {"directory": str(tmp_path / "store")}}
    broker = broker_factory(storage)  # [song] url = "none": no registration, no Song routes
    (tmp_path / "user").mkdir()
    tui = Tui(tmp_path / "user", broker.url)
    content = os.urandom(2_000_000)
    (tmp_path / "x.bin").write_bytes(content)
    object_id = "5d0a4d8e-3b7c-4a6f-9a43-0f4a1c2b3d4e"
    assert (
        tui.run("upload", "--object-id", object_id, "--file", str(tmp_path / "x.bin")).returncode
        == 0
    )
    out = tmp_path / "out"
    done = tui.run(
        "download", "--object-id", object_id, "--output-dir", str(out), "--output-layout", "id"
    )
    assert done.returncode == 0, done.stderr
    assert "no index looked up" in done.stderr
    assert (out / object_id).read_bytes() == content
    refused = tui.run("download", "--object-id", object_id, "--output-dir", str(out / "named"))
    assert refused.returncode == 1
    assert "not registered in Song" in refused.stderr
