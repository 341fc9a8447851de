"""Song's analysis messages (its Kafka `AnalysisMessage`), written to the outbox in the same
transaction as the change they announce, so none is lost to a crash or to a webhook that is down.

Song sends CREATE on submit, and PUBLISH, UNPUBLISH or SUPPRESS on those changes. On an update
of an analysis or of a file, Song says PUBLISH whatever the state; here the action follows the
state the analysis is in (PUBLISH, UNPUBLISH or SUPPRESS), so an indexer that acts on the action
never indexes an unpublished analysis.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any

from score_broker.database.connection import Transaction

ACTION_OF_STATE = {"PUBLISHED": "PUBLISH", "UNPUBLISHED": "UNPUBLISH", "SUPPRESSED": "SUPPRESS"}


def analysis_message(action: str, analysis: dict[str, Any], server_id: str) -> dict[str, Any]:
    """Song's AnalysisMessage: its six fields, the analysis as GET returns it."""
    return {
        "analysisId": analysis["analysisId"],
        "studyId": analysis["studyId"],
        "state": analysis["analysisState"],
        "action": action,
        "songServerId": server_id,
        "analysis": analysis,
    }


@dataclass(frozen=True, slots=True)
class Outbox:
    """Where analysis messages go: one delivery per configured webhook."""

    webhooks: tuple[str, ...] = ()
    server_id: str = "song.overture"

    @property
    def enabled(self) -> bool:
        return bool(self.webhooks)

    def record(self, tx: Transaction, action: str, analysis: dict[str, Any]) -> None:
        message = json.dumps(analysis_message(action, analysis, self.server_id))
        now = time.time()
        tx.executemany(
            "INSERT INTO song_delivery (url, analysis_id, message, created, next_attempt) "
            "VALUES (?, ?, ?, ?, ?)",
            [(url, analysis["analysisId"], message, now, now) for url in self.webhooks],
        )
