"""Errors shared by the storage backends and the services.

Each error carries a message a person can act on. The web layer maps each class to the HTTP
status Score uses for it, which is what drives score-client's retry logic.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from score_broker.metrics import Refusal


class BrokerError(Exception):
    """Base class of every error the broker reports to a caller; `status` is what it answers."""

    status = 500


class InvalidRequest(BrokerError):
    """The request is malformed or out of range; retrying it unchanged cannot succeed (400)."""

    status = 400


class NotFound(BrokerError):
    """The object, upload or part does not exist (404)."""

    status = 404


class ObjectExists(BrokerError):
    """An upload would replace a finalized object without `overwrite=true` (Score answers 500)."""

    status = 500


class StorageUnavailable(BrokerError):
    """The object store is unreachable or failed transiently; the caller should retry (503)."""

    status = 503


class ChecksumMismatch(InvalidRequest):
    """Bytes do not match the MD5 they were declared with."""


class DatabaseUnavailable(StorageUnavailable):
    """The broker's own database (keys, embedded Song) cannot be reached (503)."""


class MetadataUnavailable(StorageUnavailable):
    """Song could not be reached or failed; the caller should retry (503)."""


class Unauthorized(BrokerError):
    """No valid token where one is required (401); `reason` says why, for the metrics."""

    status = 401

    def __init__(self, message: str, reason: Refusal = "bad_token") -> None:
        super().__init__(message)
        self.reason = reason


class Forbidden(BrokerError):
    """The token lacks the scope the request needs (403); the message is Score's text."""

    status = 403


class DataPlaneError(BrokerError):
    """A refused request on the local store's data plane, answered S3-style: an HTTP status and
    an S3 error code, which clients of pre-signed URLs read to decide whether to retry."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
