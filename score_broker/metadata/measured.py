"""Song lookups timed and their failures counted, whichever Song answers them.

For a remote Song a lookup is its HTTP calls, retries included; for the embedded one it is the
queries of its database. Either way it is what the broker waited for before it could answer.
"""

from __future__ import annotations

from score_broker import metrics
from score_broker.metadata import Entity, FileRecord, Metadata


class MeasuredMetadata:
    """Another Metadata, each call under `score_broker_song_request_duration_seconds` and, when
    it fails, `score_broker_song_errors_total`."""

    def __init__(self, song: Metadata) -> None:
        self.song = song

    def entity(self, object_id: str) -> Entity:
        with metrics.song_lookup("entity"):
            return self.song.entity(object_id)

    def analysis_state(self, study_id: str, analysis_id: str) -> str:
        with metrics.song_lookup("analysis_state"):
            return self.song.analysis_state(study_id, analysis_id)

    def file_record(self, study_id: str, object_id: str) -> FileRecord | None:
        with metrics.song_lookup("file_record"):
            return self.song.file_record(study_id, object_id)

    def analysis_files(self, analysis_id: str) -> list[Entity]:
        with metrics.song_lookup("analysis_files"):
            return self.song.analysis_files(analysis_id)

    def unique_ignoring_case(self, study_id: str) -> bool:
        with metrics.song_lookup("studies"):
            return self.song.unique_ignoring_case(study_id)
