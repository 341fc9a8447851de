"""Broker configuration: a TOML file, then environment variables, then command-line flags.

Every key can be set by an environment variable named `SCORE_BROKER_` followed by its section
path and key in upper case, joined by `_`: `[storage.s3] endpoint_url` is
`SCORE_BROKER_STORAGE_S3_ENDPOINT_URL`, `[server] port` is `SCORE_BROKER_SERVER_PORT`.
The configuration file is `--config FILE`, else `$SCORE_BROKER_CONFIG`, else `broker.toml` in
the user configuration directory if it exists. With none, the broker runs on the local store in
the user data directory.
"""

from __future__ import annotations

import ipaddress
import os
import re
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

import platformdirs
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

APP_NAME = "score-broker"
ENV_PREFIX = "SCORE_BROKER"
MAX_URL_EXPIRY = 7 * 24 * 3600  # the longest S3 accepts for SigV4 URLs
#: What a browser sends as `Origin`: scheme, host and optional port, nothing after.
ORIGIN = re.compile(r"[a-z][a-z0-9+.-]*://[^/?#\s]+", re.IGNORECASE)


class ConfigError(Exception):
    """The configuration cannot be used; the message says which key and why."""


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ServerSettings(Section):
    host: str = "127.0.0.1"
    port: int = Field(8087, ge=0, le=65535)
    #: Base URL clients use to reach this broker (the local store's URLs start with it);
    #: empty means http://<host>:<port>, or https://<host>:<port> when serving TLS.
    public_url: str = ""
    #: Serve HTTPS with this certificate (PEM, the chain after it) and its private key (PEM,
    #: not encrypted); both or neither. Empty: plain HTTP (behind a TLS proxy, say).
    tls_cert_file: str = ""
    tls_key_file: str = ""
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    #: "text" lines, or "json": one JSON object per line from every logger.
    log_format: Literal["text", "json"] = "text"
    access_log: bool = True
    #: Where the broker keeps its own files (API keys, the embedded Song, the local store);
    #: empty means the user data directory.
    data_directory: str = ""
    #: Addresses (or CIDR networks) of reverse proxies whose `X-Forwarded-For` (the caller's
    #: address in the access log) and `X-Forwarded-Proto` the broker believes; from anyone else
    #: these headers are ignored. A comma-separated list in the environment.
    trusted_proxies: list[str] = []
    #: Show the store's details (path or bucket, free bytes) on `/health` to callers without a
    #: token; off by default, since they help an attacker more than a load balancer.
    health_details: bool = False
    #: Origins (scheme://host[:port]) of web portals whose pages may call the broker; "*" is
    #: any origin (no credentials either way). Empty: no CORS headers. A comma-separated list
    #: in the environment.
    cors_origins: list[str] = []
    #: `GET /metrics` in Prometheus's text format; false: no such path (404).
    metrics: bool = True
    #: Empty: anyone may read /metrics. Set: only with `Authorization: Bearer <metrics_token>`.
    metrics_token: str = ""
    #: uvicorn worker processes of `serve`; with more than one, their metrics are added up.
    workers: int = Field(1, ge=1, le=256)

    @field_validator("trusted_proxies", "cors_origins", mode="before")
    @classmethod
    def _split(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [item.strip() for item in value.split(",") if item.strip()]
        return value

    @field_validator("trusted_proxies")
    @classmethod
    def _networks(cls, value: list[str]) -> list[str]:
        for item in value:
            try:
                ipaddress.ip_network(item, strict=False)
            except ValueError:
                raise ValueError(f"{item!r} is not an IP address or network") from None
        return value

    @field_validator("cors_origins")
    @classmethod
    def _origins(cls, value: list[str]) -> list[str]:
        for item in value:
            if item != "*" and not ORIGIN.fullmatch(item):
                raise ValueError(
                    f"{item!r} is not an origin: use scheme://host[:port] without a path, "
                    'e.g. https://portal.example.org, or "*"'
                )
        return [item.lower() for item in value]  # as browsers send them


class S3Settings(Section):
    endpoint_url: str = ""
    region: str = "us-east-1"
    path_style: bool = True
    #: Empty keys mean the standard AWS credential chain (environment, profile, instance role).
    access_key: str = ""
    secret_key: str = ""
    data_bucket: str = "score.data"
    #: Empty means the data bucket.
    state_bucket: str = ""
    #: Create missing buckets at start (for development stores).
    create_buckets: bool = False
    #: The base URL clients reach the store at, when it is not `endpoint_url` (a proxy in
    #: front of it; Score's s3.preSignedUrl.override.host): URLs are signed for the store's own
    #: host and handed out with this one, so the proxy must forward the request's Host as the
    #: store expects it. Empty: the URLs name the store itself.
    presigned_host: str = ""
    #: Server-side encryption of new objects: "" (none, or the bucket's default), "AES256" or
    #: "aws:kms" with `kms_key_id` (Score encrypts with SSE-KMS when its
    #: s3.masterEncryptionKeyId is set; an empty key id here means the store's default key).
    sse: Literal["", "AES256", "aws:kms"] = ""
    #: Score's bucket partitioning (bucket.size.pool, bucket.size.key): with a pool of N > 0,
    #: an object's data and state live in `<data_bucket>.<i>` and `<state_bucket>.<i>`, i the
    #: first `bucket_key_size` hex digits of its id modulo N.
    bucket_pool_size: int = Field(0, ge=0, le=4096)
    bucket_key_size: int = Field(2, ge=1, le=7)
    kms_key_id: str = ""
    #: The broker's own calls to the store: seconds to connect, seconds to wait for an answer,
    #: and tries in all (failures of the network and answers 500, 502, 503, 504).
    connect_timeout: float = Field(10.0, gt=0)
    read_timeout: float = Field(60.0, gt=0)
    max_attempts: int = Field(3, ge=1, le=20)


class AzureSettings(Section):
    #: e.g. https://<account>.blob.core.windows.net, or Azurite's http://127.0.0.1:10000/<account>
    account_url: str = ""
    account_name: str = ""
    account_key: str = ""
    #: Instead of the three above.
    connection_string: str = ""
    #: An account SAS with read, write, create, list and delete rights (signing part URLs
    #: still needs the account key).
    sas_token: str = ""
    data_container: str = "data"
    #: Empty means the data container.
    state_container: str = ""
    create_containers: bool = False
    #: "blocks": each part is a block with its own Put Block URL (score-tui, and any client of
    #: Score's S3-shaped flow). "blob": one SAS for the whole blob, as Score's Azure server
    #: hands out; what the Java score-client needs when `/profile` says `az`.
    upload_flow: Literal["blocks", "blob"] = "blocks"


class LocalSettings(Section):
    #: Empty means `store` in the data directory.
    directory: str = ""


class StorageSettings(Section):
    backend: Literal["local", "s3", "azure"] = "local"
    part_size: int = Field(20 * 1024 * 1024, gt=0, lt=2**31)
    upload_url_expiry: int = Field(3600, ge=1, le=MAX_URL_EXPIRY)
    download_url_expiry: int = Field(3600, ge=1, le=MAX_URL_EXPIRY)
    #: For clients that do not ask for fresh URLs (the Java score-client signs a transfer once
    #: at its start): 0 means the same as above; Score's own are 518400 and 86400.
    score_client_upload_url_expiry: int = Field(0, ge=0, le=MAX_URL_EXPIRY)
    score_client_download_url_expiry: int = Field(0, ge=0, le=MAX_URL_EXPIRY)
    #: How long `/listing` answers from its last reading of the store, in seconds.
    listing_cache_seconds: int = Field(60, ge=0)

    @property
    def longest_upload_url_expiry(self) -> int:
        return max(self.upload_url_expiry, self.score_client_upload_url_expiry)

    data_directory: str = "data"
    upload_directory: str = "upload"
    sentinel: str = "heliograph"
    s3: S3Settings = S3Settings()
    azure: AzureSettings = AzureSettings()
    local: LocalSettings = LocalSettings()


class SongSettings(Section):
    #: "embedded" (a Song-compatible service at /song, the default), "none" (no metadata:
    #: objects need no registration; development only), or the base URL of a Song server.
    url: str = "embedded"
    timeout: float = Field(10.0, gt=0)
    retries: int = Field(2, ge=0, le=10)
    #: Skip the analysis-state checks, like Score's metadata.useLegacyMode.
    legacy_mode: bool = False
    #: Where the embedded Song checks objects at publish: empty means this broker, in-process;
    #: otherwise the base URL of a Score server, called with `score_token`.
    score_url: str = ""
    score_token: str = ""
    #: URLs that get Song's analysis message (JSON, POST) on every submit, publish, unpublish,
    #: suppress and update of the embedded Song; delivered from an outbox in the database.
    webhooks: list[str] = []
    #: When set, each message carries X-Song-Signature-256: sha256=<HMAC of the body>.
    webhook_secret: str = ""
    webhook_timeout: float = Field(10.0, gt=0)
    #: The songServerId of the messages (Song's `song.id`).
    server_id: str = "song.overture"


class AuthSettings(Section):
    #: False is development mode: every request is allowed, without a token.
    enabled: bool = True
    upload_system_scope: str = "score.WRITE"
    upload_study_prefix: str = "PROGRAMDATA-"
    upload_study_suffix: str = ".WRITE"
    download_system_scope: str = "score.READ"
    download_study_prefix: str = "PROGRAMDATA-"
    download_study_suffix: str = ".READ"
    song_system_scope: str = "song.WRITE"
    song_study_prefix: str = "PROGRAMDATA-"
    song_study_suffix: str = ".WRITE"
    #: Where JWTs' scopes come from: "keys" and "ego" read them from the token (Ego's
    #: `context.scope`, or `scope`); "keycloak" asks Keycloak for the caller's permissions, as
    #: Score's auth.server.provider = keycloak. The broker's own API keys work under each.
    provider: Literal["keys", "ego", "keycloak"] = "keys"
    #: Keycloak (Score's auth.server.keycloak.host and realm, auth.server.clientID).
    keycloak_url: str = ""
    keycloak_realm: str = ""
    keycloak_client_id: str = ""
    keycloak_client_secret: str = ""
    #: JWTs (RS256): a PEM public key file, a URL serving one (Ego's /oauth/token/public_key),
    #: or a JWKS URL (with provider "keycloak" and none given: the realm's certs).
    jwt_public_key_file: str = ""
    jwt_public_key_url: str = ""
    jwt_jwks_url: str = ""
    jwt_issuer: str = ""
    jwt_audience: str = ""
    #: Introspection of UUID-shaped API keys that are not the broker's own (Ego or Keycloak).
    introspection_url: str = ""
    introspection_client_id: str = ""
    introspection_client_secret: str = ""
    introspection_token_name: str = "apiToken"  # noqa: S105 (a form field name)
    introspection_cache_seconds: int = Field(60, ge=0)


class LimitSettings(Section):
    """What one request may hold; a request over a limit is refused (400 or 413), nothing stored."""

    #: The largest request body the broker reads (Song submissions and every JSON body).
    max_body_bytes: int = Field(16 * 1024 * 1024, ge=1024)
    #: How deeply JSON arrays and objects may nest (a submission's `info` included).
    max_json_depth: int = Field(64, ge=4, le=1000)
    #: The most files one analysis may hold.
    max_files_per_analysis: int = Field(10_000, ge=1)
    #: The longest string value (ids, names, `info` values) in characters.
    max_string_length: int = Field(65_536, ge=64)


class CleanupSettings(Section):
    """Stale uploads aborted inside `serve`, as `score-broker cleanup` does."""

    enabled: bool = False
    #: Seconds between two cleanups (the first runs at start); one replica at a time.
    interval: int = Field(86400, ge=1)
    #: Age limit in seconds since initiate; 0 means [storage] upload_url_expiry, as Score does.
    older_than: int = Field(0, ge=0)


class DatabaseSettings(Section):
    #: Empty: SQLite files in the data directory (one broker). `postgresql://user:pass@host:5432/db`:
    #: API keys and the embedded Song in PostgreSQL, which any number of replicas share.
    url: str = ""
    #: Connections each broker process keeps open to PostgreSQL at most.
    max_connections: int = Field(10, ge=1, le=1000)


class Settings(Section):
    server: ServerSettings = ServerSettings()
    database: DatabaseSettings = DatabaseSettings()
    limits: LimitSettings = LimitSettings()
    storage: StorageSettings = StorageSettings()
    song: SongSettings = SongSettings()
    auth: AuthSettings = AuthSettings()
    cleanup: CleanupSettings = CleanupSettings()

    @property
    def public_url(self) -> str:
        if self.server.public_url:
            return self.server.public_url.rstrip("/")
        host = self.server.host
        if host in ("0.0.0.0", "::", ""):
            host = "127.0.0.1"
        elif ":" in host:
            host = f"[{host}]"
        scheme = "https" if self.serves_tls else "http"
        return f"{scheme}://{host}:{self.server.port}"

    @property
    def serves_tls(self) -> bool:
        return bool(self.server.tls_cert_file)

    @property
    def data_directory(self) -> Path:
        if self.server.data_directory:
            return Path(self.server.data_directory).expanduser()
        return Path(platformdirs.user_data_dir(APP_NAME))

    @property
    def local_directory(self) -> Path:
        configured = self.storage.local.directory
        if configured:
            return Path(configured).expanduser()
        return self.data_directory / "store"


def env_name(path: tuple[str, ...]) -> str:
    """The environment variable for a key path, e.g. ('storage', 's3', 'region')."""
    return "_".join((ENV_PREFIX, *path)).upper()


def _overlay_environment(
    model: type[BaseModel], data: dict[str, Any], environ: Mapping[str, str], path: tuple[str, ...]
) -> None:
    for name, field in model.model_fields.items():
        annotation = field.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            section = data.setdefault(name, {})
            if not isinstance(section, dict):
                raise ConfigError(f"[{'.'.join((*path, name))}] must be a table.")
            _overlay_environment(annotation, section, environ, (*path, name))
        elif (value := environ.get(env_name((*path, name)))) is not None:
            data[name] = value


def default_config_file() -> Path:
    return Path(platformdirs.user_config_dir(APP_NAME)) / "broker.toml"


def load_settings(
    config_file: Path | None = None,
    environ: Mapping[str, str] | None = None,
    overrides: Mapping[str, Any] | None = None,
) -> Settings:
    """Settings from the file, overlaid by the environment, overlaid by `overrides` ([server])."""
    environ = os.environ if environ is None else environ
    if config_file is None and environ.get(f"{ENV_PREFIX}_CONFIG"):
        config_file = Path(environ[f"{ENV_PREFIX}_CONFIG"])
    if config_file is None and default_config_file().is_file():
        config_file = default_config_file()
    data: dict[str, Any] = {}
    if config_file is not None:
        try:
            data = tomllib.loads(config_file.read_text())
        except OSError as error:
            raise ConfigError(
                f"Cannot read the configuration file {config_file}: {error.strerror}."
            ) from error
        except tomllib.TOMLDecodeError as error:
            raise ConfigError(f"{config_file} is not valid TOML: {error}.") from error
    _overlay_environment(Settings, data, environ, ())
    for key, value in (overrides or {}).items():
        if value is not None:
            data.setdefault("server", {})[key] = value
    try:
        settings = Settings.model_validate(data)
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        raise ConfigError(f"Configuration key {where}: {first['msg']}.") from error
    server = settings.server
    if bool(server.tls_cert_file) != bool(server.tls_key_file):
        given, missing = ("tls_cert_file", "tls_key_file")[:: 1 if server.tls_cert_file else -1]
        raise ConfigError(
            f"[server] {given} is set but {missing} is not; set both to serve HTTPS, or neither."
        )
    database = settings.database.url
    if database and not database.startswith(("postgresql://", "postgres://")):
        raise ConfigError(
            "[database] url must be empty (SQLite files in the data directory) or a "
            f"postgresql:// URL, not {database.split('://')[0]!r}."
        )
    for hook in settings.song.webhooks:
        if not hook.startswith(("http://", "https://")):
            raise ConfigError(f"[song] webhooks must be http(s) URLs, not {hook!r}.")
    url = settings.song.url
    if url not in ("embedded", "none") and not url.startswith(("http://", "https://")):
        raise ConfigError(
            '[song] url must be "embedded", "none" or the http(s) URL of a Song server, '
            f"not {url!r}."
        )
    return settings
