"""Configuration: file, then environment, then flags; clear errors for bad values."""

from __future__ import annotations

from pathlib import Path

import pytest

from score_broker.config import ConfigError, env_name, load_settings


def test_defaults_are_the_local_store_on_8087(tmp_path: Path) -> None:
    settings = load_settings(environ={"XDG_DATA_HOME": str(tmp_path)})
    assert settings.storage.backend == "local"
    assert (settings.server.host, settings.server.port) == ("127.0.0.1", 8087)
    assert settings.public_url == "http://127.0.0.1:8087"
    assert settings.storage.upload_url_expiry == settings.storage.download_url_expiry == 3600


def test_environment_overrides_file_and_flags_override_both(tmp_path: Path) -> None:
    config = tmp_path / "broker.toml"
    config.write_text(
        '[server]\nport = 9000\n[storage]\nbackend = "s3"\n'
        '[storage.s3]\nendpoint_url = "http://file"\ndata_bucket = "from-file"\n'
    )
    environ = {
        "SCORE_BROKER_STORAGE_S3_ENDPOINT_URL": "http://env:7480",
        "SCORE_BROKER_STORAGE_S3_PATH_STYLE": "false",
        "SCORE_BROKER_SERVER_PORT": "9100",
    }
    settings = load_settings(config, environ, overrides={"port": 9200, "host": None})
    assert settings.storage.s3.endpoint_url == "http://env:7480"
    assert settings.storage.s3.path_style is False
    assert settings.storage.s3.data_bucket == "from-file"
    assert settings.server.port == 9200


def test_config_file_from_the_environment(tmp_path: Path) -> None:
    config = tmp_path / "other.toml"
    config.write_text("[storage]\nupload_url_expiry = 60\n")
    settings = load_settings(environ={"SCORE_BROKER_CONFIG": str(config)})
    assert settings.storage.upload_url_expiry == 60


def test_env_names() -> None:
    assert env_name(("storage", "s3", "endpoint_url")) == "SCORE_BROKER_STORAGE_S3_ENDPOINT_URL"
    assert env_name(("storage", "local", "directory")) == "SCORE_BROKER_STORAGE_LOCAL_DIRECTORY"


@pytest.mark.parametrize(
    ("text", "environ", "message"),
    [
        ("[storage]\nbackend = 'tape'\n", {}, "storage.backend"),
        ("[storage]\nupload_url_expiry = 999999999\n", {}, "storage.upload_url_expiry"),
        ("[storage]\nbucket = 'x'\n", {}, "storage.bucket"),
        ("[server\n", {}, "is not valid TOML"),
        ("", {"SCORE_BROKER_SERVER_PORT": "eighty"}, "server.port"),
        ("", {"SCORE_BROKER_SERVER_LOG_FORMAT": "xml"}, "server.log_format"),
        ("[server]\ncors_origins = ['https://portal.example.org/']\n", {}, "server.cors_origins"),
    ],
)
def test_bad_configuration_names_the_key(
    tmp_path: Path, text: str, environ: dict[str, str], message: str
) -> None:
    config = tmp_path / "broker.toml"
    config.write_text(text)
    with pytest.raises(ConfigError, match=message.replace(".", r"\.")):
        load_settings(config, environ)


def test_logs_and_cors_from_the_environment(tmp_path: Path) -> None:
    config = tmp_path / "broker.toml"
    config.write_text('[server]\ncors_origins = ["https://file.example.org"]\n')
    assert load_settings(config, {}).server.log_format == "text"
    environ = {
        "SCORE_BROKER_SERVER_LOG_FORMAT": "json",
        "SCORE_BROKER_SERVER_CORS_ORIGINS": "https://portal.example.org, http://localhost:3000",
    }
    server = load_settings(config, environ).server
    assert server.log_format == "json"
    assert server.cors_origins == ["https://portal.example.org", "http://localhost:3000"]
    assert load_settings(config, {"SCORE_BROKER_SERVER_CORS_ORIGINS": ""}).server.cors_origins == []
