"""TLS end to end: a broker serving HTTPS with a certificate of a private CA, and the batch client
trusting that CA by --ca-file, by the profile's ca_file or by SSL_CERT_FILE; without it, or
facing a certificate nothing vouches for, the client refuses in one line that says what to do.
"""

from __future__ import annotations

import hashlib
import os
import socket
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import httpx
import pysam
import pytest

from score_tui.demo import write_demo_bam
from tests.conftest import BrokerFactory
from tests.support.broker import BrokerProcess, free_port, to_toml
from tests.support.certificates import (  # noqa: F401 (fixtures)
    ServerFiles,
    ca_signed,
    make_ca_signed,
    self_signed,
)
from tests.support.tui import Tui

STUDY = "TLS-TEST"


def md5(data: bytes) -> str:
    return hashlib.md5(data, usedforsecurity=False).hexdigest()


def tls_broker(
    broker_factory: BrokerFactory, tmp_path: Path, files: ServerFiles, **song: Any
) -> BrokerProcess:
    """A broker serving HTTPS on the local store, with the embedded Song."""
    return broker_factory(
        {"backend": "local", "local": {"directory": str(tmp_path / "store")}},
        song={"url": "embedded", **song},
        tls_cert_file=str(files.cert_file),
        tls_key_file=str(files.key_file),
        ca_file=files.ca_file,
    )


@pytest.fixture
def https_broker(
    broker_factory: BrokerFactory,
    tmp_path: Path,
    ca_signed: ServerFiles,  # noqa: F811 (the fixture)
) -> BrokerProcess:
    return tls_broker(broker_factory, tmp_path, ca_signed)


@pytest.fixture
def user(tmp_path: Path, https_broker: BrokerProcess) -> Tui:
    (tmp_path / "user").mkdir()
    return Tui(tmp_path / "user", https_broker.url)


def write_profile(tui: Tui, **profile: str) -> None:
    path = tui.home / "config" / "score-tui" / "config.toml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(to_toml({"profiles": {"tls": profile}}))


def upload_then_download(
    tui: Tui, name: str, data: bytes, *trust: str, **env: str
) -> tuple[str, Path]:
    """Upload one file into the study (registered and published), download it again; returns
    its object id and the downloaded copy."""
    source = tui.home / "source" / name
    source.parent.mkdir(exist_ok=True)
    source.write_bytes(data)
    status, summary = tui.json(
        *trust, "upload", "--study", STUDY, "--access", "open", "--publish",
        "--file", str(source), **env,
    )  # fmt: skip
    assert status == 0, summary["stderr"]
    uploaded = next(f for f in summary["files"] if f["direction"] == "upload")
    assert uploaded["state"] == "done"
    out = tui.home / f"out-{name}"
    status, summary = tui.json(
        *trust, "download", "--object-id", uploaded["objectId"], "--output-dir", str(out), **env
    )
    assert status == 0, summary["stderr"]
    return uploaded["objectId"], out / name


def test_transfers_over_https_trusting_the_ca_each_way(
    user: Tui,
    https_broker: BrokerProcess,
    ca_signed: ServerFiles,  # noqa: F811
) -> None:
    assert https_broker.url.startswith("https://")
    ca = str(ca_signed.ca_file)
    write_profile(user, server_url=https_broker.url, ca_file=ca)
    ways: dict[str, tuple[tuple[str, ...], dict[str, str]]] = {
        "flag.bin": (("--ca-file", ca), {}),
        "profile.bin": (("--profile", "tls"), {}),
        "environment.bin": ((), {"SSL_CERT_FILE": ca}),
    }
    for name, (trust, env) in ways.items():
        data = os.urandom(3 * 1024 * 1024 + 17)
        object_id, copy = upload_then_download(user, name, data, *trust, **env)
        assert copy.read_bytes() == data, name
        assert md5(copy.read_bytes()) == md5(data), name

    # The URLs the broker hands out for its local store, and DRS, name it by HTTPS.
    url = user.run("--ca-file", ca, "url", "--object-id", object_id)
    assert url.returncode == 0, url.stderr
    assert url.stdout.startswith(f"{https_broker.url}/storage/")
    drs = httpx.get(
        f"{https_broker.url}/ga4gh/drs/v1/objects/{object_id}", verify=https_broker.verify
    ).json()
    assert drs["access_methods"][0]["type"] == "https"


def refusal(stderr: str) -> str:
    """The one line of a refused certificate."""
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1, stderr
    return lines[0]


def test_without_the_ca_the_client_refuses_and_writes_nothing(
    user: Tui, https_broker: BrokerProcess
) -> None:
    source = user.home / "refused.bin"
    source.write_bytes(os.urandom(1000))
    upload = user.run("upload", "--study", STUDY, "--access", "open", "--file", str(source))
    line = refusal(upload.stderr)
    assert f"cannot verify the TLS certificate of {https_broker.url}:" in line
    assert "unable to get local issuer certificate" in line
    assert "--ca-file" in line
    assert "SSL_CERT_FILE" in line
    unreachable = Tui(user.home, f"http://127.0.0.1:{free_port()}").run(
        "upload", "--study", STUDY, "--access", "open", "--file", str(source)
    )
    assert upload.returncode == unreachable.returncode == 1, "the other connection errors' code"
    listing = httpx.get(f"{https_broker.url}/listing", verify=https_broker.verify)
    assert listing.json() == [], "nothing was uploaded"

    out = user.home / "out"
    download = user.run("download", "--object-id", str(uuid.uuid4()), "--output-dir", str(out))
    assert download.returncode == 1
    assert "cannot verify the TLS certificate" in refusal(download.stderr)
    assert not out.exists() or not any(out.iterdir())

    missing = user.run("--ca-file", str(user.home / "no-such.pem"), "info")
    assert missing.returncode == 2
    assert "no-such.pem does not exist" in refusal(missing.stderr)


@pytest.mark.parametrize("kind", ["self-signed", "wrong host"])
def test_a_certificate_nothing_vouches_for_is_refused(
    broker_factory: BrokerFactory,
    tmp_path: Path,
    self_signed: ServerFiles,  # noqa: F811
    kind: str,
) -> None:
    if kind == "self-signed":
        files, expected, trust = self_signed, "self-signed certificate", ()
    else:  # a trusted CA, but the certificate names another address
        files = make_ca_signed(tmp_path / "elsewhere", hosts=("10.9.9.9",))
        expected, trust = "IP address mismatch", ("--ca-file", str(files.ca_file))
    broker = tls_broker(broker_factory, tmp_path, files)
    (tmp_path / "user").mkdir()
    tui = Tui(tmp_path / "user", broker.url)
    out = tmp_path / "out"
    refused = tui.run(
        *trust, "download", "--object-id", str(uuid.uuid4()), "--output-dir", str(out)
    )
    assert refused.returncode == 1
    line = refusal(refused.stderr)
    assert f"cannot verify the TLS certificate of {broker.url}: {expected}" in line
    assert "--ca-file" in line
    assert not out.exists()
    if kind == "self-signed":  # trusting the certificate itself is enough
        listed = tui.run("--ca-file", str(files.ca_file), "url", "--object-id", str(uuid.uuid4()))
        assert "not found" in listed.stderr, listed.stderr


def serve(config: dict[str, Any], directory: Path) -> subprocess.CompletedProcess[str]:
    path = directory / "broker.toml"
    path.write_text(to_toml(config))
    env = {k: v for k, v in os.environ.items() if not k.startswith("SCORE_BROKER_")}
    command = [sys.executable, "-m", "score_broker", "serve", "--config", str(path)]
    return subprocess.run(
        command, capture_output=True, text=True, env=env, timeout=60, stdin=subprocess.DEVNULL
    )


def test_the_broker_refuses_a_key_that_is_not_the_certificates(
    tmp_path: Path,
    ca_signed: ServerFiles,  # noqa: F811
    self_signed: ServerFiles,  # noqa: F811
) -> None:
    port = free_port()
    server = {"port": port, "data_directory": str(tmp_path / "data")}
    config: dict[str, Any] = {"server": server, "song": {"url": "none"}}
    server.update(tls_cert_file=str(ca_signed.cert_file), tls_key_file=str(self_signed.key_file))
    mismatched = serve(config, tmp_path)
    assert mismatched.returncode == 2
    assert mismatched.stderr.count("\n") == 1, mismatched.stderr
    assert mismatched.stderr.startswith("score-broker: [server] tls_key_file")
    assert "is not the key of tls_cert_file" in mismatched.stderr
    with socket.socket() as probe:
        assert probe.connect_ex(("127.0.0.1", port)) != 0, "it never listened"

    del server["tls_key_file"]
    alone = serve(config, tmp_path)
    assert alone.returncode == 2
    assert alone.stderr == (
        "score-broker: [server] tls_cert_file is set but tls_key_file is not; "
        "set both to serve HTTPS, or neither.\n"
    )
    server.update(tls_key_file=str(tmp_path / "missing-key.pem"))
    missing = serve(config, tmp_path)
    assert missing.returncode == 2
    assert "missing-key.pem: cannot read it (No such file or directory)" in missing.stderr


def test_view_slices_over_https(
    user: Tui,
    https_broker: BrokerProcess,
    ca_signed: ServerFiles,  # noqa: F811
) -> None:
    ca = ("--ca-file", str(ca_signed.ca_file))
    bam = write_demo_bam(user.home / "reads.bam", reads=400)
    status, summary = user.json(
        *ca, "upload", "--study", STUDY, "--access", "open", "--publish",
        "--file", str(bam), "--file", f"{bam}.bai",
    )  # fmt: skip
    assert status == 0, summary["stderr"]
    bam_id = next(f["objectId"] for f in summary["files"] if f["file"] == "reads.bam")
    out = user.home / "slice.sam"
    status, summary = user.json(
        *ca, "view", "--object-id", bam_id, "--query", "chr20:1-1000000", "--output-file", str(out)
    )
    assert status == 0, summary["stderr"]
    with pysam.AlignmentFile(str(bam)) as local:
        expected = [read.query_name for read in local.fetch("chr20", 0, 1_000_000)]
    sliced = [line.split("\t")[0] for line in out.read_text().splitlines() if line[:1] != "@"]
    assert sliced == expected
    assert expected
