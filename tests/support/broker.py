"""Running a broker as a real process on a real port."""

from __future__ import annotations

import json
import os
import socket
import ssl
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

STARTUP_TIMEOUT = 30.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def to_toml(config: dict[str, Any], prefix: str = "") -> str:
    """A small TOML writer for nested tables of strings, numbers, booleans and string lists."""
    lines: list[str] = []
    tables: list[tuple[str, dict[str, Any]]] = []
    for key, value in config.items():
        if isinstance(value, dict):
            tables.append((f"{prefix}{key}", value))
        elif isinstance(value, bool):
            lines.append(f"{key} = {'true' if value else 'false'}")
        elif isinstance(value, int | float):
            lines.append(f"{key} = {value}")
        elif isinstance(value, list):
            lines.append(f"{key} = {json.dumps(value)}")  # a JSON list of strings is TOML
        else:
            lines.append(f'{key} = "{value}"')
    text = "\n".join(lines) + "\n" if lines else ""
    for name, table in tables:
        text += f"\n[{name}]\n" + to_toml(table, f"{name}.")
    return text


@dataclass
class BrokerProcess:
    """A `score-broker serve` subprocess with its own config file and log."""

    config: dict[str, Any]
    workdir: Path
    port: int = 0
    process: subprocess.Popen[bytes] | None = None
    #: The CA file that makes a client trust the broker's certificate, when it serves HTTPS.
    ca_file: Path | None = None
    program: tuple[str, ...] = (sys.executable, "-m", "score_broker")  # or an installed command

    def __post_init__(self) -> None:
        self.port = self.port or free_port()

    @property
    def serves_tls(self) -> bool:
        return bool(self.config.get("server", {}).get("tls_cert_file"))

    @property
    def url(self) -> str:
        scheme = "https" if self.serves_tls else "http"
        return f"{scheme}://127.0.0.1:{self.port}"

    @property
    def verify(self) -> ssl.SSLContext | bool:
        """What an httpx client of this broker verifies its certificate with."""
        if self.ca_file is None:
            return True
        return ssl.create_default_context(cafile=str(self.ca_file))

    @property
    def log_path(self) -> Path:
        return self.workdir / f"broker-{self.port}.log"

    def start(self, healthy: bool = True) -> BrokerProcess:
        """Start and wait until /health answers (200 unless `healthy` is False)."""
        self.workdir.mkdir(parents=True, exist_ok=True)
        config_path = self.workdir / f"broker-{self.port}.toml"
        config_path.write_text(to_toml(self.config))
        env = {k: v for k, v in os.environ.items() if not k.startswith("SCORE_BROKER_")}
        command = [*self.program, "serve", "--config", str(config_path)]
        command += ["--port", str(self.port)]
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(command, stdout=log, stderr=log, env=env)
        self._wait_for_health(healthy)
        return self

    def _wait_for_health(self, healthy: bool) -> None:
        verify = self.verify
        if isinstance(verify, ssl.SSLContext):  # trusting the CA; a test may want a wrong name
            verify.check_hostname = False
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while time.monotonic() < deadline:
            assert self.process is not None
            if self.process.poll() is not None:
                raise RuntimeError(f"broker exited at start:\n{self.log_path.read_text()}")
            try:
                status = httpx.get(f"{self.url}/health", timeout=5, verify=verify).status_code
                if status == 200 or not healthy:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.05)
        raise RuntimeError(f"broker did not become healthy:\n{self.log_path.read_text()}")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def kill(self) -> None:
        """Stop the process at once, as a crash would."""
        if self.process is not None:
            self.process.kill()
            self.process.wait()

    def log_text(self) -> str:
        return self.log_path.read_text()
