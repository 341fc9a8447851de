"""Who is calling, and with which scopes."""

from __future__ import annotations

import re
from dataclasses import dataclass

_UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")


def looks_like_api_key(token: str) -> bool:
    """Score's token routing: a UUID is an API key, anything else a JWT."""
    return bool(_UUID.match(token))


def folded(text: str) -> str:
    """Text as Score compares scopes and study ids: ignoring case."""
    return text.lower()


@dataclass(frozen=True, slots=True)
class Identity:
    """An authenticated caller: a subject for logs and the scopes its token grants."""

    subject: str
    scopes: frozenset[str]


@dataclass(frozen=True, slots=True)
class ScopeRule:
    """A system scope, or a study scope made of prefix + study id + suffix."""

    system: str
    prefix: str
    suffix: str
    case_sensitive: bool = False

    def _norm(self, scope: str) -> str:
        return scope if self.case_sensitive else folded(scope)

    def has_system(self, identity: Identity | None) -> bool:
        if identity is None:
            return False
        return self._norm(self.system) in {self._norm(s) for s in identity.scopes}

    def has_study(self, identity: Identity | None, study_id: str) -> bool:
        if identity is None:
            return False
        wanted = self._norm(f"{self.prefix}{study_id}{self.suffix}")
        return wanted in {self._norm(s) for s in identity.scopes}

    def has_study_exactly(self, identity: Identity | None, study_id: str) -> bool:
        """Whether a scope names the study exactly as it is spelled (case included)."""
        if identity is None:
            return False
        return f"{self.prefix}{study_id}{self.suffix}" in identity.scopes

    def has_any_study(self, identity: Identity | None) -> bool:
        """Whether a scope names some study (prefix + a study id + suffix)."""
        if identity is None:
            return False
        prefix, suffix = self._norm(self.prefix), self._norm(self.suffix)
        return any(
            len(scope) > len(prefix) + len(suffix)
            and scope.startswith(prefix)
            and scope.endswith(suffix)
            for scope in (self._norm(s) for s in identity.scopes)
        )

    def allows(self, identity: Identity | None, study_id: str) -> bool:
        return self.has_system(identity) or self.has_study(identity, study_id)
