"""Song's write rule: the system scope (`song.WRITE`) or the study's scope, compared exactly."""

from __future__ import annotations

from dataclasses import dataclass

from score_broker.auth.identity import Identity, ScopeRule
from score_broker.song.errors import SongError


@dataclass(frozen=True, slots=True)
class SongAccess:
    enabled: bool
    rule: ScopeRule

    def check_system(self, identity: Identity | None) -> None:
        """Song's system rule (registering analysis types): only the system scope."""
        self.check_write(identity, "")
        if self.enabled and not self.rule.has_system(identity):
            raise SongError(
                "forbidden.token",
                403,
                f"The token needs the scope {self.rule.system}",
                "SongAccess",
            )

    def check_write(self, identity: Identity | None, study_id: str) -> None:
        if not self.enabled:
            return
        if identity is None:
            raise SongError(
                "unauthorized.token",
                401,
                "A token is required; send 'Authorization: Bearer <token>'",
                "SongAccess",
            )
        if not self.rule.allows(identity, study_id):
            raise SongError(
                "forbidden.token",
                403,
                f"The token needs the scope {self.rule.system} or "
                f"{self.rule.prefix}{study_id}{self.rule.suffix}",
                "SongAccess",
            )
