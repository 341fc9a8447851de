"""A Song server over HTTP, called as Score calls it: no token, timeouts, a few retries."""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import quote

import httpx

from score_broker.auth.identity import folded
from score_broker.errors import MetadataUnavailable, NotFound
from score_broker.metadata.entity import Entity, FileRecord
from score_broker.retrying import retrying

log = logging.getLogger(__name__)
RETRY_DELAY = 0.2
#: An analysis holds a few files; a BAM's index is among the first page of this size.
ANALYSIS_FILES = 2000


class _SongFailed(Exception):
    """Song could not be reached or failed (5xx): worth another try."""


class RemoteSong:
    """Looks up entities and analysis states on a Song server."""

    def __init__(self, base_url: str, timeout: float = 10.0, retries: int = 2) -> None:
        self.base_url = base_url.rstrip("/")
        self.retries = retries
        self._http = httpx.Client(base_url=self.base_url, timeout=timeout)

    def close(self) -> None:
        self._http.close()

    def _get(self, path: str, what: str, kind: type = dict) -> Any:
        """The JSON at `path` (a `kind`); None on 404 (and 400, as Score reads it); 503 on
        anything else."""
        try:
            return retrying(
                lambda: self._get_once(path, what, kind),
                self.retries + 1,
                retryable=lambda error: isinstance(error, _SongFailed),
                delay=lambda number: RETRY_DELAY * 2 ** (number - 1),
            )
        except _SongFailed as failed:
            log.warning("%s", failed)
            raise MetadataUnavailable(f"{failed}; try again later.") from None

    def _get_once(self, path: str, what: str, kind: type) -> Any:
        try:
            response = self._http.get(path)
        except httpx.HTTPError as error:
            problem = f"cannot reach Song at {self.base_url} ({type(error).__name__})"
            raise _SongFailed(problem) from error
        if response.status_code in (400, 404):
            return None
        if response.status_code == 200:
            try:
                body = response.json()
            except ValueError:
                body = None
            if isinstance(body, kind):
                return body
            raise MetadataUnavailable(f"Song answered {what} with something not JSON.")
        problem = f"Song answered {what} with HTTP {response.status_code}"
        if response.status_code < 500:
            raise MetadataUnavailable(f"{problem}; check the broker's [song] url.")
        raise _SongFailed(problem)

    def entity(self, object_id: str) -> Entity:
        body = self._get(f"/entities/{quote(object_id, safe='')}", f"the entity {object_id}")
        if body is None:
            raise NotFound(f"Entity {object_id} is not registered on the server.")
        try:
            entity = Entity.from_wire(body)
        except (KeyError, TypeError) as error:
            raise MetadataUnavailable(f"Song's entity {object_id} lacks {error}.") from error
        if entity.id != object_id:
            raise MetadataUnavailable(f"Song answered entity {entity.id} for {object_id}.")
        return entity

    def file_record(self, study_id: str, object_id: str) -> FileRecord | None:
        path = f"/studies/{quote(study_id, safe='')}/files/{quote(object_id, safe='')}"
        body = self._get(path, f"the file {object_id}")
        return FileRecord.from_wire(body) if body is not None else None

    def analysis_state(self, study_id: str, analysis_id: str) -> str:
        path = f"/studies/{quote(study_id, safe='')}/analysis/{quote(analysis_id, safe='')}"
        body = self._get(path, f"the analysis {analysis_id}")
        if body is None:
            raise NotFound(f"Analysis {analysis_id} of study {study_id} is not registered in Song.")
        state = body.get("analysisState")
        if not isinstance(state, str):
            raise MetadataUnavailable(f"Could not parse 'analysisState' of analysis {analysis_id}.")
        return state

    def analysis_files(self, analysis_id: str) -> list[Entity]:
        path = f"/entities?gnosId={quote(analysis_id, safe='')}&size={ANALYSIS_FILES}"
        body = self._get(path, f"the files of analysis {analysis_id}") or {}
        try:
            return [Entity.from_wire(item) for item in body.get("content") or []]
        except (KeyError, TypeError, AttributeError) as error:
            raise MetadataUnavailable(f"Song's files of {analysis_id} lack {error}.") from error

    def unique_ignoring_case(self, study_id: str) -> bool:
        studies = self._get("/studies/all", "the list of studies", list) or []
        return sum(folded(str(other)) == folded(study_id) for other in studies) <= 1
