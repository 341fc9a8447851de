"""The command lines: `score-broker`, `python -m score_broker`, `python -m score_tui`."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, *args], capture_output=True, text=True, timeout=60)


def test_serve_help_names_the_options() -> None:
    result = run("-m", "score_broker", "serve", "--help")
    assert result.returncode == 0
    for option in ("--config", "--host", "--port"):
        assert option in result.stdout


def test_bad_config_is_one_line_and_exit_2(tmp_path: Path) -> None:
    config = tmp_path / "broker.toml"
    config.write_text("[storage]\nbackend = 'tape'\n")
    result = run("-m", "score_broker", "serve", "--config", str(config))
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("score-broker: Configuration key storage.backend")


def test_missing_config_file_is_reported(tmp_path: Path) -> None:
    result = run("-m", "score_broker", "serve", "--config", str(tmp_path / "nope.toml"))
    assert result.returncode == 2
    assert "Cannot read the configuration file" in result.stderr


def test_versions() -> None:
    assert run("-m", "score_broker", "--version").stdout.startswith("score-broker ")
    assert run("-m", "score_tui", "--version").stdout.startswith("score-tui ")
