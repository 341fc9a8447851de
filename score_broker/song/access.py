"""Song's write rule: the system scope (`song.WRITE`) or the study's scope, compared exactly."""

from __future__ import annotations

from dataclasses import dataclass

from score_broker import metrics
from score_broker.auth.identity import Identity, ScopeRule
from score_broker.song.errors import SongError


@dataclass(frozen=True, slots=True)
class SongAccess:
    enabled: bool
    rule: ScopeRule

    def _require_token(self, identity: Identity | None) -> None:
        if identity is None:
            metrics.refused("no_token")
            raise SongError(
                "unauthorized.token",
                401,
                "A token is required; send 'Authorization: Bearer <token>'",
                "SongAccess",
            )

    def check_system(self, identity: Identity | None) -> None:
        """Song's system rule (registering analysis types): only the system scope."""
        if not self.enabled:
            return
        self._require_token(identity)
        if not self.rule.has_system(identity):
            needed = f"The token needs the scope {self.rule.system}"
            metrics.refused("scope")
            raise SongError("forbidden.token", 403, needed, "SongAccess")

    def check_write(self, identity: Identity | None, study_id: str) -> None:
        if not self.enabled:
            return
        self._require_token(identity)
        if not self.rule.allows(identity, study_id):
            metrics.refused("scope")
            raise SongError(
                "forbidden.token",
                403,
                f"The token needs the scope {self.rule.system} or "
                f"{self.rule.prefix}{study_id}{self.rule.suffix}",
                "SongAccess",
            )
