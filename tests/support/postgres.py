"""A real PostgreSQL server for the tests: Debian's binaries, `initdb` and `pg_ctl` in a temporary
directory, run as the `postgres` user when the tests run as root (initdb refuses root)."""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import tempfile
import uuid
from dataclasses import dataclass
from pathlib import Path

import psycopg

from tests.support.broker import free_port

#: The password in every URL the tests hand out: trust authentication ignores it, and no
#: message of the broker may show it.
PASSWORD = "pg-secret-8d1f"


def _binaries() -> Path:
    for candidate in sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True):
        if (candidate / "initdb").is_file():
            return candidate
    found = shutil.which("initdb")
    if found:
        return Path(found).parent
    raise RuntimeError("PostgreSQL is not installed: apt-get install postgresql (as scripts/test)")


@dataclass
class PostgresServer:
    directory: Path
    port: int = 0

    def __post_init__(self) -> None:
        self.port = self.port or free_port()
        self._bin = _binaries()
        self._user = "postgres" if os.geteuid() == 0 else None

    def _run(self, *command: str) -> None:
        prefix = ["runuser", "-u", self._user, "--"] if self._user else []
        subprocess.run(
            [*prefix, *command], check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )

    def start(self) -> PostgresServer:
        if self._user:
            entry = pwd.getpwnam(self._user)
            os.chown(self.directory, entry.pw_uid, entry.pw_gid)
        data = self.directory / "data"
        self._run(
            str(self._bin / "initdb"), "-D", str(data), "--auth=trust", "--username=postgres",
            "--encoding=UTF8", "--locale=C.UTF-8", "--no-sync",
        )  # fmt: skip
        options = (
            f"-p {self.port} -k {self.directory} -c listen_addresses=127.0.0.1 "
            "-c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200"
        )
        self._run(
            str(self._bin / "pg_ctl"), "-D", str(data), "-o", options,
            "-l", str(self.directory / "server.log"), "-w", "start",
        )  # fmt: skip
        return self

    def stop(self) -> None:
        self._run(str(self._bin / "pg_ctl"), "-D", str(self.directory / "data"), "-m", "fast",
                  "-w", "stop")  # fmt: skip

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://postgres:{PASSWORD}@127.0.0.1:{self.port}/{database}"

    def new_database(self) -> str:
        """The URL of a new, empty database."""
        name = f"broker_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(self.url(), autocommit=True) as connection:
            connection.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)


def start_server() -> PostgresServer:
    directory = Path(tempfile.mkdtemp(prefix="score-pg-"))
    return PostgresServer(directory).start()


def remove(server: PostgresServer) -> None:
    try:
        server.stop()
    finally:
        shutil.rmtree(server.directory, ignore_errors=True)
