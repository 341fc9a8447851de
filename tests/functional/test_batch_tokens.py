"""Tokens from the user's side: anonymous open downloads, refused controlled ones with a clear
reason, ACCESSTOKEN and --token-file, and `info` never printing the token."""

from __future__ import annotations

import os
from pathlib import Path

from tests.conftest import BrokerFactory
from tests.support.song import SongClient, register
from tests.support.tui import Tui

STUDY = "TEST-CA"


def test_tokens_decide_what_a_user_may_move(broker_factory: BrokerFactory, tmp_path: Path) -> None:
    storage = {"backend": "local", "local": {"directory": str(tmp_path / "store")}}
    broker = broker_factory(storage, song={"url": "embedded"}, auth={"enabled": True})
    admin = (tmp_path / "data" / "admin-key").read_text().strip()
    files = {"open.vcf": (os.urandom(4000), "open"), "closed.vcf": (os.urandom(5000), "controlled")}
    ids = register(f"{broker.url}/song", STUDY, files, token=admin)
    for name, (content, _) in files.items():
        (tmp_path / name).write_bytes(content)
    (tmp_path / "user").mkdir()
    anonymous = Tui(tmp_path / "user", broker.url)
    admin_user = Tui(tmp_path / "user", broker.url, token=admin)

    refused = anonymous.run(
        "upload", "--object-id", ids["open.vcf"], "--file", str(tmp_path / "open.vcf")
    )
    assert refused.returncode == 1
    assert "the token was not accepted" in refused.stderr or "access denied" in refused.stderr

    for name in files:
        done = admin_user.run("upload", "--object-id", ids[name], "--file", str(tmp_path / name))
        assert done.returncode == 0, done.stderr
    song = SongClient(f"{broker.url}/song", admin)
    assert song.publish(STUDY, ids["analysis"]).status_code == 200
    song.close()

    out = tmp_path / "anonymous"
    code, summary = anonymous.json(
        "download", "--object-id", ids["open.vcf"], ids["closed.vcf"], "--output-dir", str(out)
    )
    assert code == 1
    states = {f["file"]: f["state"] for f in summary["files"]}
    assert states == {"open.vcf": "done", "closed.vcf": "failed"}
    closed_error = next(f["error"] for f in summary["files"] if f["file"] == "closed.vcf")
    assert closed_error.startswith(f"download of {ids['closed.vcf']}:")
    assert "ACCESSTOKEN" in closed_error or "access denied" in closed_error
    assert os.listdir(out) == ["open.vcf"]

    token_file = tmp_path / "token"
    token_file.write_text(admin + "\n")
    done = anonymous.run(
        "download",
        "--object-id",
        ids["closed.vcf"],
        "--output-dir",
        str(out),
        "--token-file",
        str(token_file),
    )
    assert done.returncode == 0, done.stderr
    assert (out / "closed.vcf").read_bytes() == files["closed.vcf"][0]

    shown = admin_user.run("info")
    assert admin not in shown.stdout + shown.stderr
    assert f"****{admin[-4:]}" in shown.stdout
    assert "environment variable ACCESSTOKEN" in shown.stdout
