"""The broker's own API keys: UUIDs, stored only as SHA-256 hashes in a 0600 SQLite file."""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import sqlite3
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from score_broker.auth.identity import Identity
from score_broker.errors import Unauthorized

SCHEMA = """
CREATE TABLE IF NOT EXISTS api_key (
    id TEXT PRIMARY KEY,
    hash TEXT NOT NULL UNIQUE,
    scopes TEXT NOT NULL,
    created REAL NOT NULL,
    expires REAL,
    revoked REAL,
    note TEXT NOT NULL DEFAULT ''
)
"""


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class ApiKeyRecord:
    """What is known of a key, without the key itself."""

    id: str
    scopes: tuple[str, ...]
    created: float
    expires: float | None
    revoked: float | None
    note: str

    @property
    def state(self) -> str:
        if self.revoked is not None:
            return "revoked"
        if self.expires is not None and self.expires <= time.time():
            return "expired"
        return "active"


class KeyStore:
    """Creates, lists, revokes and checks API keys."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        if not path.exists():
            os.close(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600))
        os.chmod(path, 0o600)
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA busy_timeout = 5000")
        self._db.execute(SCHEMA)
        self._lock = threading.Lock()

    def create(
        self, scopes: list[str], expires_in: float | None = None, note: str = ""
    ) -> tuple[str, ApiKeyRecord]:
        """A new key (shown once, here) and its record."""
        if not scopes or any(not s.strip() or " " in s for s in scopes):
            raise ValueError("An API key needs at least one scope, each without spaces.")
        token = str(uuid.uuid4())
        record = ApiKeyRecord(
            id=secrets.token_hex(4),
            scopes=tuple(scopes),
            created=time.time(),
            expires=time.time() + expires_in if expires_in is not None else None,
            revoked=None,
            note=note,
        )
        with self._lock:
            self._db.execute(
                "INSERT INTO api_key (id, hash, scopes, created, expires, note) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (record.id, _hash(token), " ".join(scopes), record.created, record.expires, note),
            )
        return token, record

    def records(self) -> list[ApiKeyRecord]:
        with self._lock:
            rows = self._db.execute(
                "SELECT id, scopes, created, expires, revoked, note FROM api_key ORDER BY created"
            ).fetchall()
        return [ApiKeyRecord(r[0], tuple(r[1].split()), r[2], r[3], r[4], r[5]) for r in rows]

    def revoke(self, key_id: str) -> bool:
        """Revoke by id; False if there is no such key."""
        with self._lock:
            cursor = self._db.execute(
                "UPDATE api_key SET revoked = ? WHERE id = ? AND revoked IS NULL",
                (time.time(), key_id),
            )
            if cursor.rowcount:
                return True
            return bool(
                self._db.execute("SELECT 1 FROM api_key WHERE id = ?", (key_id,)).fetchone()
            )

    def is_empty(self) -> bool:
        with self._lock:
            count: int = self._db.execute("SELECT COUNT(*) FROM api_key").fetchone()[0]
            return count == 0

    def knows(self, token: str) -> bool:
        """Whether the token is one of this broker's keys (valid or not)."""
        with self._lock:
            row = self._db.execute(
                "SELECT 1 FROM api_key WHERE hash = ?", (_hash(token),)
            ).fetchone()
        return row is not None

    def identify(self, token: str) -> Identity | None:
        """The key's identity; None if it is not one of ours; Unauthorized if revoked or expired."""
        digest = _hash(token)
        with self._lock:
            row = self._db.execute(
                "SELECT id, hash, scopes, expires, revoked FROM api_key WHERE hash = ?", (digest,)
            ).fetchone()
        if row is None or not hmac.compare_digest(row[1], digest):
            return None
        key_id, _, scopes, expires, revoked = row
        if revoked is not None:
            raise Unauthorized("The API key has been revoked; ask an administrator for a new one.")
        if expires is not None and expires <= time.time():
            raise Unauthorized("The API key has expired; ask an administrator for a new one.")
        return Identity(subject=f"key:{key_id}", scopes=frozenset(scopes.split()))
