"""The embedded Song, asked in-process (no HTTP round trip) the questions Score asks Song."""

from __future__ import annotations

from score_broker.errors import NotFound
from score_broker.metadata.entity import Entity, FileRecord
from score_broker.song.entities import MAX_PAGE_SIZE
from score_broker.song.errors import SongError
from score_broker.song.service import SongService


class EmbeddedSong:
    """Metadata from the broker's own Song service."""

    def __init__(self, song: SongService) -> None:
        self.song = song

    def entity(self, object_id: str) -> Entity:
        entity = self.song.entities.entity(object_id)
        if entity is None:
            raise NotFound(f"Entity {object_id} is not registered on the server.")
        return entity

    def analysis_state(self, study_id: str, analysis_id: str) -> str:
        state = self.song.analysis_state(analysis_id)
        if state is None:
            raise NotFound(f"Analysis {analysis_id} of study {study_id} is not registered in Song.")
        return state

    def file_record(self, study_id: str, object_id: str) -> FileRecord | None:
        try:
            return FileRecord.from_wire(self.song.get_file(study_id, object_id))
        except SongError as error:
            if error.status == 404:
                return None
            raise

    def analysis_files(self, analysis_id: str) -> list[Entity]:
        page = self.song.entities.page({"gnosId": analysis_id}, 0, MAX_PAGE_SIZE, [])
        return [Entity.from_wire(item) for item in page["content"]]

    def unique_ignoring_case(self, study_id: str) -> bool:
        return len(self.song.studies_ignoring_case(study_id)) <= 1
