"""score-client's command line as its users type it: enum values in any case, `version` and
`help`."""

from __future__ import annotations

import os
from pathlib import Path

import httpx

from score_tui import __version__
from tests.conftest import BrokerFactory
from tests.support.tui import Tui


def test_enum_values_ignore_case(broker_factory: BrokerFactory, tmp_path: Path) -> None:
    broker = broker_factory(
        {"backend": "local", "local": {"directory": str(tmp_path / "store")}},
        song={"url": "embedded"},
    )
    (tmp_path / "user").mkdir()
    tui = Tui(tmp_path / "user", broker.url)
    source = tmp_path / "case.vcf"
    source.write_bytes(os.urandom(3000))
    uploaded = tui.run(
        "upload", "--study", "CASE", "--file", str(source), "--access", "CONTROLLED", "--publish"
    )
    assert uploaded.returncode == 0, uploaded.stderr
    analysis = httpx.get(f"{broker.url}/song/studies/CASE/analysis").json()[0]
    assert analysis["files"][0]["fileAccess"] == "controlled"
    out = tmp_path / "out"
    done = tui.run(
        "download", "--analysis-id", analysis["analysisId"], "--study-id", "CASE",
        "--output-dir", str(out), "--output-layout", "BUNDLE",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert (out / analysis["analysisId"] / "case.vcf").read_bytes() == source.read_bytes()
    bad = tui.run("download", "--output-dir", "x", "--output-layout", "Shelves")
    assert bad.returncode == 2
    assert "invalid choice: 'shelves'" in bad.stderr


def test_version_names_the_client_the_broker_and_its_version(
    broker_factory: BrokerFactory, tmp_path: Path
) -> None:
    broker = broker_factory({"backend": "local", "local": {"directory": str(tmp_path / "s")}})
    (tmp_path / "user").mkdir()
    shown = Tui(tmp_path / "user", broker.url).run("version")
    assert shown.returncode == 0, shown.stderr
    assert f"score-tui {__version__}" in shown.stdout
    assert broker.url in shown.stdout
    broker_version = httpx.get(f"{broker.url}/actuator/info").json()["build"]["version"]
    assert f"version   {broker_version}" in shown.stdout


def test_help_explains_a_command(tmp_path: Path) -> None:
    tui = Tui(tmp_path, "http://127.0.0.1:9")
    download = tui.run("help", "download")
    assert download.returncode == 0
    assert "--output-layout" in download.stdout
    overview = tui.run("help")
    assert overview.returncode == 0
    assert "upload" in overview.stdout
    assert "view" in overview.stdout
    unknown = tui.run("help", "teleport")
    assert unknown.returncode == 2


def test_view_output_types_as_score_client_has_them(tmp_path: Path) -> None:
    """TRIMMED (in any case) is score-client's one output type; MERGED and CROSS, which it
    declares but does not implement, are refused in one line."""
    tui = Tui(tmp_path, "http://127.0.0.1:9")
    args = ["view", "--input-file", str(tmp_path / "none.bam"), "--query", "chr1:1-10"]
    trimmed = tui.run(*args, "--output-type", "trimmed")
    assert "output-type" not in trimmed.stderr  # accepted: it fails on the missing file only
    for other in ("MERGED", "cross"):
        refused = tui.run(*args, "--output-type", other)
        assert refused.returncode == 2
        assert f"--output-type {other.upper()} is not implemented" in refused.stderr
