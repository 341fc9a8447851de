"""Clients of the Score REST API and of Song, with one place that explains HTTP failures."""

from score_tui.client.errors import (
    AccessRefused,
    ChecksumMismatch,
    NotFound,
    Retryable,
    TransferError,
    UrlRefused,
)
from score_tui.client.models import Entity, ObjectSpec, SpecPart
from score_tui.client.score import ScoreApi
from score_tui.client.song import SongApi

__all__ = [
    "AccessRefused",
    "ChecksumMismatch",
    "Entity",
    "NotFound",
    "ObjectSpec",
    "Retryable",
    "ScoreApi",
    "SongApi",
    "SpecPart",
    "TransferError",
    "UrlRefused",
]
