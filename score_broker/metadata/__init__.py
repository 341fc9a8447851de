"""What the broker asks Song about an object: its study, analysis, access and analysis state."""

from __future__ import annotations

from typing import Protocol

from score_broker.metadata.entity import Entity, FileRecord

__all__ = ["Entity", "FileRecord", "Metadata"]


class Metadata(Protocol):
    """Song, as Score uses it (contract 7.1)."""

    def entity(self, object_id: str) -> Entity:
        """The object's legacy entity; NotFound if Song does not know it."""
        ...

    def analysis_state(self, study_id: str, analysis_id: str) -> str:
        """PUBLISHED, UNPUBLISHED or SUPPRESSED; NotFound if Song does not know the analysis."""
        ...

    def file_record(self, study_id: str, object_id: str) -> FileRecord | None:
        """The size and MD5 Song registered for the object; None if Song has no such file."""
        ...

    def analysis_files(self, analysis_id: str) -> list[Entity]:
        """The files of an analysis (Song's entities with this gnosId), e.g. a BAM's index."""
        ...

    def unique_ignoring_case(self, study_id: str) -> bool:
        """Whether no other study's id equals `study_id` ignoring case."""
        ...
