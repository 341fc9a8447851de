"""The broker's own API keys: UUIDs, stored only as SHA-256 hashes (in a 0600 SQLite file, or in
the PostgreSQL database that replicas share)."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
import uuid
from dataclasses import dataclass

from score_broker.auth.identity import Identity
from score_broker.database.connection import Database
from score_broker.errors import Unauthorized


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
    """Creates, lists, revokes and checks API keys. Every check reads the database, so a key
    made or revoked on one replica counts on every other at once."""

    def __init__(self, database: Database) -> None:
        self._db = database

    @property
    def local(self) -> bool:
        """Whether a check reads a local file (no network)."""
        return self._db.dialect == "sqlite"

    def create(
        self, scopes: list[str], expires_in: float | None = None, note: str = ""
    ) -> tuple[str, ApiKeyRecord]:
        """A new key (shown once, here) and its record."""
        made = self._create(scopes, expires_in, note, only_if_none=False)
        assert made is not None
        return made

    def create_first(self, scopes: list[str], note: str) -> tuple[str, ApiKeyRecord] | None:
        """A key if there is none yet, else None: decided in the key's own transaction, so of
        replicas starting together on an empty database only one makes it."""
        return self._create(scopes, None, note, only_if_none=True)

    def _create(
        self, scopes: list[str], expires_in: float | None, note: str, only_if_none: bool
    ) -> tuple[str, ApiKeyRecord] | None:
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
        with self._db.transaction() as tx:
            if only_if_none and tx.execute("SELECT 1 FROM api_key LIMIT 1").fetchone():
                return None
            tx.execute(
                "INSERT INTO api_key (id, hash, scopes, created, expires, note) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (record.id, _hash(token), " ".join(scopes), record.created, record.expires, note),
            )
        return token, record

    def records(self) -> list[ApiKeyRecord]:
        rows = self._db.query(
            "SELECT id, scopes, created, expires, revoked, note FROM api_key ORDER BY created"
        )
        return [ApiKeyRecord(r[0], tuple(r[1].split()), r[2], r[3], r[4], r[5]) for r in rows]

    def revoke(self, key_id: str) -> bool:
        """Revoke by id; False if there is no such key."""
        with self._db.transaction() as tx:
            cursor = tx.execute(
                "UPDATE api_key SET revoked = ? WHERE id = ? AND revoked IS NULL",
                (time.time(), key_id),
            )
            if cursor.rowcount:
                return True
            return bool(tx.execute("SELECT 1 FROM api_key WHERE id = ?", (key_id,)).fetchone())

    def is_empty(self) -> bool:
        return int(self._db.query("SELECT COUNT(*) FROM api_key")[0][0]) == 0

    def knows(self, token: str) -> bool:
        """Whether the token is one of this broker's keys (valid or not)."""
        return bool(self._db.query("SELECT 1 FROM api_key WHERE hash = ?", (_hash(token),)))

    def identify(self, token: str) -> Identity | None:
        """The key's identity; None if it is not one of ours; Unauthorized if revoked or expired."""
        digest = _hash(token)
        rows = self._db.query(
            "SELECT id, hash, scopes, expires, revoked FROM api_key WHERE hash = ?", (digest,)
        )
        row = rows[0] if rows else None
        if row is None or not hmac.compare_digest(row[1], digest):
            return None
        key_id, _, scopes, expires, revoked = row
        if revoked is not None:
            raise Unauthorized(
                "The API key has been revoked; ask an administrator for a new one.",
                "revoked_token",
            )
        if expires is not None and expires <= time.time():
            raise Unauthorized(
                "The API key has expired; ask an administrator for a new one.", "expired_token"
            )
        return Identity(subject=f"key:{key_id}", scopes=frozenset(scopes.split()))
