"""Configuration: named broker profiles in a TOML file, then environment variables, then flags.

Precedence is flag > environment > file > default. The environment uses score-client's names
where they exist (STORAGE_URL, METADATA_URL, ACCESSTOKEN, TRANSPORT_PARALLEL,
STORAGE_RETRYNUMBER). The token comes from --token-file, ACCESSTOKEN, the OS keyring, or the
fallback file `<config dir>/tokens/<profile>` (0600), in that order.
"""

from __future__ import annotations

import contextlib
import os
import re
import tomllib
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import platformdirs
import tomli_w

from score_tui.client.tls import CaFileError, check_ca_file
from score_tui.engine.settings import EngineSettings
from score_tui.errors import ScoreTuiError

APP = "score-tui"
DEFAULT_SERVER_URL = "http://127.0.0.1:8087"
KEYRING_SERVICE = "score-tui"
#: score-client's Spring profiles: accepted as --profile without a section in the file.
SPRING_PROFILES = ("default", "dev", "collab", "aws", "prod", "secure")


class ConfigError(ScoreTuiError):
    """The configuration cannot be used; the message says which file or value to fix."""


def config_dir() -> Path:
    return Path(os.environ.get("SCORE_TUI_CONFIG_DIR") or platformdirs.user_config_dir(APP))


def state_dir() -> Path:
    """Where the journal lives (honours XDG_STATE_HOME); never beside the data."""
    return Path(platformdirs.user_state_dir(APP))


def config_path() -> Path:
    return Path(os.environ.get("SCORE_TUI_CONFIG") or config_dir() / "config.toml")


@dataclass(frozen=True, slots=True)
class Overrides:
    """What the command line asked for; None means 'not given'."""

    profile: str | None = None
    server_url: str | None = None
    metadata_url: str | None = None
    token_file: str | None = None
    concurrency: int | None = None
    bandwidth_limit: str | None = None
    ca_file: str | None = None


@dataclass(frozen=True, slots=True)
class Settings:
    """Everything a command needs: which broker and Song, the token, and the engine's limits."""

    profile: str
    server_url: str
    metadata_url: str
    token: str | None
    token_source: str
    engine: EngineSettings = field(default_factory=EngineSettings)
    config_file: Path = field(default_factory=config_path)
    #: The terminal UI resumes interrupted transfers when it starts ([tui] resume_on_start).
    resume_on_start: bool = True
    #: Whether a broker was named (flag, STORAGE_URL or a profile) rather than defaulted.
    broker_configured: bool = True
    #: A CA file (PEM) trusted besides the system's certificates (--ca-file, the profile's
    #: ca_file); SSL_CERT_FILE is read by OpenSSL itself.
    ca_file: str | None = None

    @property
    def journal_path(self) -> Path:
        return state_dir() / "journal.sqlite"

    @property
    def lock_dir(self) -> Path:
        return state_dir() / "locks"


def parse_rate(text: str | float | int | None) -> float | None:
    """Bytes per second from `50M`, `1.5GB/s`, `800KiB/s` or a plain number; 0 or '' is no cap."""
    if text is None or text == "":
        return None
    if isinstance(text, int | float):
        return float(text) or None
    match = re.fullmatch(r"\s*([\d.]+)\s*([kmgt]?)(i?)b?(?:/s)?\s*", text, re.IGNORECASE)
    if not match:
        raise ConfigError(f"bandwidth limit {text!r} is not a rate such as 50MB/s or 800K")
    number, unit, binary = match.groups()
    base = 1024 if binary else 1000
    power = " kmgt".index(unit.lower() or " ")
    return float(number) * base**power or None


def read_file(path: Path) -> dict[str, Any]:
    if not path.exists():
        return {}
    try:
        return tomllib.loads(path.read_text())
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"cannot read {path}: {exc}") from None


def load(overrides: Overrides | None = None) -> Settings:
    """Settings from the file, the environment and the flags, in rising precedence."""
    flags = overrides or Overrides()
    env = os.environ
    path = config_path()
    document = read_file(path)
    profiles: dict[str, Any] = document.get("profiles", {})
    name = flags.profile or env.get("SCORE_TUI_PROFILE") or document.get("profile") or "default"
    if name not in profiles and name not in SPRING_PROFILES:
        known = ", ".join(sorted(profiles)) or "none"
        raise ConfigError(f"no profile {name!r} in {path} (profiles: {known})")
    profile = profiles.get(name, {})
    named = flags.server_url or env.get("STORAGE_URL") or profile.get("server_url")
    server_url = (named or DEFAULT_SERVER_URL).rstrip("/")
    metadata_url = (
        flags.metadata_url
        or env.get("METADATA_URL")
        or profile.get("metadata_url")
        or f"{server_url}/song"
    ).rstrip("/")
    token, source = resolve_token(name, flags.token_file)
    ca_file = _ca_file(flags.ca_file, profile.get("ca_file"), path)
    return Settings(
        profile=name,
        server_url=server_url,
        metadata_url=metadata_url,
        token=token,
        token_source=source,
        engine=_engine_settings(document.get("transfer", {}), flags),
        config_file=path,
        resume_on_start=bool(document.get("tui", {}).get("resume_on_start", True)),
        broker_configured=bool(named),
        ca_file=ca_file,
    )


def _ca_file(flag: str | None, configured: object, path: Path) -> str | None:
    """The CA file of --ca-file (else the profile's, a relative path read from the config
    file's directory), once it is known to hold a PEM certificate."""
    if flag:
        ca_file = str(Path(flag).expanduser().absolute())
    elif configured is None or configured == "":
        return None
    elif not isinstance(configured, str):
        raise ConfigError(f"ca_file in {path} must be the path of a PEM file")
    else:
        ca_file = str(path.parent / Path(configured).expanduser())
    try:
        check_ca_file(ca_file)
    except CaFileError as exc:
        raise ConfigError(
            f"{exc}; give a PEM file of the CA that signed the broker's certificate"
        ) from None
    return ca_file


def profile_names() -> list[str]:
    """The profiles of the config file."""
    return sorted(read_file(config_path()).get("profiles", {}))


def save(
    *,
    profile: str | None,
    server_url: str | None = None,
    metadata_url: str | None = None,
    transfer: dict[str, Any] | None = None,
    tui: dict[str, Any] | None = None,
) -> Path:
    """Write settings into the config file (other keys kept); returns its path.

    `profile` becomes the default profile (None: profiles untouched); a None URL leaves the
    profile's as it is, an empty one removes it. Written to a temporary file first, then moved
    into place. Raises ConfigError when the file cannot be read or written.
    """
    path = config_path()
    document = read_file(path)
    if profile is not None:
        document["profile"] = profile
        table = document.setdefault("profiles", {}).setdefault(profile, {})
        for key, value in (("server_url", server_url), ("metadata_url", metadata_url)):
            if value:
                table[key] = value
            elif value is not None:
                table.pop(key, None)
    for name, values in (("transfer", transfer), ("tui", tui)):
        if values:
            section = document.setdefault(name, {})
            for key, value in values.items():
                if value is None or value == "":
                    section.pop(key, None)
                else:
                    section[key] = value
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}")
        tmp.write_text(tomli_w.dumps(document))
        os.replace(tmp, path)
    except OSError as exc:
        raise ConfigError(f"cannot write {path}: {exc.strerror}") from None
    return path


def _engine_settings(table: dict[str, Any], flags: Overrides) -> EngineSettings:
    env = os.environ
    default = EngineSettings()
    try:
        concurrency = int(
            flags.concurrency
            or env.get("TRANSPORT_PARALLEL")
            or table.get("concurrency")
            or default.concurrency
        )
        per_transfer = int(table.get("per_transfer", min(default.per_transfer, concurrency)))
        active_transfers = int(table.get("active_transfers", default.active_transfers))
        retries = int(env.get("STORAGE_RETRYNUMBER") or table.get("retries", default.retries))
        stall_timeout = float(
            env.get("SCORE_TUI_STALL_TIMEOUT") or table.get("stall_timeout", default.stall_timeout)
        )
        retry_delay = float(table.get("retry_delay", default.retry_delay))
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"a [transfer] setting is not a number: {exc}") from None
    rate = (
        flags.bandwidth_limit
        or env.get("SCORE_TUI_BANDWIDTH_LIMIT")
        or table.get("bandwidth_limit")
    )
    try:
        return replace(
            default,
            concurrency=concurrency,
            per_transfer=per_transfer,
            active_transfers=active_transfers,
            retries=retries,
            stall_timeout=stall_timeout,
            retry_delay=retry_delay,
            bandwidth_limit=parse_rate(rate),
        )
    except ValueError as exc:
        raise ConfigError(str(exc)) from None


# -- the token ---------------------------------------------------------------------------------


def token_fallback_path(profile: str) -> Path:
    return config_dir() / "tokens" / profile


def resolve_token(profile: str, token_file: str | None) -> tuple[str | None, str]:
    """The token and where it came from (shown by `info`, never the token itself)."""
    if token_file:
        try:
            return Path(token_file).read_text().strip() or None, f"file {token_file}"
        except OSError as exc:
            raise ConfigError(f"cannot read the token file {token_file}: {exc.strerror}") from None
    if os.environ.get("ACCESSTOKEN"):
        return os.environ["ACCESSTOKEN"].strip(), "environment variable ACCESSTOKEN"
    stored = _keyring_get(profile)
    if stored:
        return stored, "OS keyring"
    fallback = token_fallback_path(profile)
    if fallback.exists():
        return fallback.read_text().strip() or None, f"file {fallback}"
    return None, "none"


def _keyring_get(profile: str) -> str | None:
    import keyring  # only when the token is not in a flag, file or the environment

    try:
        return keyring.get_password(KEYRING_SERVICE, profile)
    except Exception:  # no backend, or a broken one: fall back rather than stop a transfer
        return None


def save_token(profile: str, token: str) -> str:
    """Store the token in the keyring; without a keyring, in a 0600 file. Returns where."""
    import keyring

    with contextlib.suppress(Exception):  # KeyringError, or a backend failing its own way
        keyring.set_password(KEYRING_SERVICE, profile, token)
        if keyring.get_password(KEYRING_SERVICE, profile) == token:
            return "the OS keyring"
    path = token_fallback_path(profile)
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(token + "\n")
    os.chmod(path, 0o600)
    return f"{path} (no OS keyring is available here; the file is readable only by you)"


def forget_token(profile: str) -> None:
    import keyring

    with contextlib.suppress(Exception):
        keyring.delete_password(KEYRING_SERVICE, profile)
    token_fallback_path(profile).unlink(missing_ok=True)


def mask(token: str | None) -> str:
    """A token as it may be printed: its length and last four characters."""
    if not token:
        return "(none)"
    return f"****{token[-4:]} ({len(token)} characters)" if len(token) > 8 else "****"
