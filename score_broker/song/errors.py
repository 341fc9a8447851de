"""Song's error body (contract song-api 2.2): nine keys, always all present."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from http import HTTPStatus
from typing import Any

from score_broker.errors import BrokerError

SHOWN_LENGTH = 80


def shown(value: object) -> str:
    """A value as a message echoes it: at most 80 characters, lone surrogates escaped."""
    text = str(value)
    if len(text) > SHOWN_LENGTH:
        text = text[:SHOWN_LENGTH] + "…"
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


class SongError(BrokerError):
    """A Song business error: an errorId such as `analysis.id.not.found` and its HTTP status."""

    def __init__(self, error_id: str, status: int, text: str, context: str = "SongService") -> None:
        super().__init__(text)
        self.error_id = error_id
        self.status = status
        self.text = text
        self.context = context

    def body(self, request_url: str) -> dict[str, Any]:
        now = time.time()
        return {
            "errorId": self.error_id,
            "httpStatusCode": self.status,
            "httpStatusName": HTTPStatus(self.status).name,
            "requestUrl": request_url,
            "datetime": datetime.fromtimestamp(now, UTC).isoformat(timespec="milliseconds")
            + "[UTC]",
            "timestamp": int(now * 1000),
            "message": f"[{self.context}::{self.error_id}] - {self.text}",
            "debugMessage": "N/A",
            "stackTrace": [],
        }


def study_not_found(study_id: str) -> SongError:
    return SongError(
        "study.id.does.not.exist",
        404,
        f"The studyId '{shown(study_id)}' does not exist",
        "StudyService",
    )


def analysis_not_found(analysis_id: str) -> SongError:
    return SongError(
        "analysis.id.not.found",
        404,
        f"The analysisId '{shown(analysis_id)}' was not found",
        "AnalysisService",
    )


def malformed(text: str) -> SongError:
    return SongError("malformed.parameter", 400, text)


def not_related(what: str, identifier: str, study_id: str, context: str) -> SongError:
    return SongError(
        "entity.not.related.to.study",
        400,
        f"The {what} '{shown(identifier)}' is not related to the studyId '{shown(study_id)}'",
        context,
    )
