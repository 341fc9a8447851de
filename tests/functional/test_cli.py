"""The command lines: `score-broker`, `python -m score_broker`, `python -m score_tui`."""

from __future__ import annotations

import os
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


def test_abbreviated_options_are_refused(tmp_path: Path) -> None:
    # `--serv` was read as `--server-url`; a prefix is now an error, everywhere.
    for args in (
        ("-m", "score_tui", "--serv", "http://127.0.0.1:1"),
        ("-m", "score_tui", "--batch", "--server", "http://127.0.0.1:1", "info"),
        ("-m", "score_tui", "--batch", "info", "--server", "http://127.0.0.1:1"),
        ("-m", "score_tui", "--batch", "url", "--object", "x"),
        ("-m", "score_broker", "serve", "--conf", str(tmp_path / "broker.toml")),
        ("-m", "score_broker", "keys", "list", "--conf", str(tmp_path / "broker.toml")),
    ):
        result = run(*args)
        assert result.returncode == 2, args
        assert "error: " in result.stderr, args


def test_full_options_still_work(tmp_path: Path) -> None:
    env = {"XDG_CONFIG_HOME": str(tmp_path / "config"), "XDG_STATE_HOME": str(tmp_path / "state")}
    done = subprocess.run(
        [sys.executable, "-m", "score_tui", "--batch", "--server-url", "http://127.0.0.1:1",
         "--metadata-url=http://127.0.0.1:2/song", "info"],
        capture_output=True, text=True, timeout=60, env={**os.environ, **env},
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "http://127.0.0.1:1" in done.stdout
    assert "http://127.0.0.1:2/song" in done.stdout
    result = run("-m", "score_broker", "serve", "--config", str(tmp_path / "nope.toml"))
    assert "Cannot read the configuration file" in result.stderr


def test_serve_options_are_checked_in_one_line() -> None:
    for args, message in (
        (("--serve", "--port", "http"), "--port takes a port number from 1 to 65535, not 'http'"),
        (("--serve", "--port=70000"), "--port takes a port number from 1 to 65535"),
        (("--port", "8000"), "--host and --port go with --serve"),
    ):
        result = run("-m", "score_tui", *args)
        assert result.returncode == 2, args
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1, result.stderr
        assert lines[0].startswith(f"score-tui: {message}")
