"""Running `score-tui --batch` as a user would: a subprocess with its own config and state."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass
class Tui:
    """A user's environment: XDG directories under `home`, no keyring, one broker."""

    home: Path
    server_url: str
    token: str | None = None
    program: tuple[str, ...] = (sys.executable, "-m", "score_tui")  # or an installed command

    @property
    def batch(self) -> list[str]:
        """The command line up to the batch command."""
        return [*self.program, "--batch"]

    def env(self, **extra: str) -> dict[str, str]:
        env = {
            k: v
            for k, v in os.environ.items()
            if k not in ("ACCESSTOKEN", "STORAGE_URL", "METADATA_URL")
        }
        env.update(
            XDG_STATE_HOME=str(self.home / "state"),
            XDG_CONFIG_HOME=str(self.home / "config"),
            PYTHON_KEYRING_BACKEND="keyring.backends.null.Keyring",
            STORAGE_URL=self.server_url,
            COLUMNS="200",
        )
        if self.token:
            env["ACCESSTOKEN"] = self.token
        env.update(extra)
        return env

    def run(
        self, *args: str, cwd: Path | None = None, timeout: float = 300, **extra: str
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*self.batch, *args], capture_output=True, text=True, env=self.env(**extra),
            cwd=cwd or self.home, timeout=timeout, stdin=subprocess.DEVNULL,
        )  # fmt: skip

    def json(self, *args: str, **extra: str) -> tuple[int, dict[str, Any]]:
        done = self.run("--json", *args, **extra)
        try:
            summary = json.loads(done.stdout)
            summary["stderr"] = done.stderr
            return done.returncode, summary
        except ValueError:
            raise AssertionError(f"no JSON on stdout:\n{done.stdout}\n{done.stderr}") from None

    def popen(self, *args: str, **extra: str) -> subprocess.Popen[str]:
        return subprocess.Popen(
            [*self.batch, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            env=self.env(**extra), cwd=self.home, stdin=subprocess.DEVNULL,
        )  # fmt: skip

    @property
    def journal_path(self) -> Path:
        return self.home / "state" / "score-tui" / "journal.sqlite"

    def done_parts(self) -> dict[int, bool]:
        """Part number -> done, for the single transfer in the journal (read-only)."""
        if not self.journal_path.exists():
            return {}
        db = sqlite3.connect(f"file:{self.journal_path}?mode=ro", uri=True, timeout=30)
        try:
            rows = db.execute("SELECT number, done FROM parts").fetchall()
        except sqlite3.OperationalError:
            return {}
        finally:
            db.close()
        return {number: bool(done) for number, done in rows}
