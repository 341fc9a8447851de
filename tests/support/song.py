"""Song payloads and a tiny Song client, as song-client and the Python SDK use Song's API."""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass
from typing import Any

import httpx

SONG_ERROR_KEYS = {
    "errorId", "httpStatusCode", "httpStatusName", "requestUrl", "datetime", "timestamp",
    "message", "debugMessage", "stackTrace",
}  # fmt: skip


#: An analysis type to register: experiment and metrics, with a count of reads.
QC_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["experiment", "metrics"],
    "properties": {
        "experiment": {"type": "object"},
        "metrics": {"type": "object", "required": ["reads"],
                    "properties": {"reads": {"type": "integer"}}},
    },
}  # fmt: skip


def assert_song_error(response: httpx.Response, status: int, error_id: str) -> None:
    """`response` is a Song error: the nine keys, this errorId and status."""
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == SONG_ERROR_KEYS
    assert body["errorId"] == error_id
    assert body["httpStatusCode"] == status
    assert body["message"].startswith("[")


def object_id(analysis_id: str, file_name: str) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_OID, f"{analysis_id}:{file_name}"))


def payload(study: str, files: dict[str, tuple[bytes, str]]) -> dict[str, Any]:
    """A variantCall submission of `files`: name -> (content, access)."""
    return {
        "studyId": study,
        "analysisType": {"name": "variantCall"},
        "samples": [
            {
                "submitterSampleId": "sample-1",
                "sampleType": "Total DNA",
                "matchedNormalSubmitterSampleId": None,
                "specimen": {
                    "submitterSpecimenId": "specimen-1",
                    "specimenType": "Normal",
                    "specimenTissueSource": "Blood derived",
                    "tumourNormalDesignation": "Normal",
                },
                "donor": {"submitterDonorId": "donor-1", "gender": "Female"},
            }
        ],
        "files": [
            {
                "fileName": name,
                "fileSize": len(content),
                "fileMd5sum": hashlib.md5(content).hexdigest(),  # noqa: S324
                "fileAccess": access,
                "fileType": "VCF",
                "dataType": "Variant Calling Data",
            }
            for name, (content, access) in files.items()
        ],
        "experiment": {"matchedNormalSampleSubmitterId": "sample-0", "variantCallingTool": "t"},
    }


@dataclass
class SongClient:
    """The Song calls of song-client and the Python SDK, at `base_url` (…/song)."""

    base_url: str
    token: str | None = None

    def __post_init__(self) -> None:
        headers = {"Content-Type": "application/json"}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        self.http = httpx.Client(base_url=self.base_url, headers=headers, timeout=60)

    def close(self) -> None:
        self.http.close()

    def create_study(self, study: str) -> httpx.Response:
        body = {"studyId": study, "name": study, "organization": "OICR", "description": "test"}
        return self.http.post(f"/studies/{study}/", json=body)

    def submit(self, study: str, body: dict[str, Any], **params: Any) -> httpx.Response:
        return self.http.post(f"/submit/{study}", json=body, params=params)

    def publish(self, study: str, analysis_id: str, **params: Any) -> httpx.Response:
        return self.http.put(f"/studies/{study}/analysis/publish/{analysis_id}", params=params)

    def unpublish(self, study: str, analysis_id: str) -> httpx.Response:
        return self.http.put(f"/studies/{study}/analysis/unpublish/{analysis_id}")

    def suppress(self, study: str, analysis_id: str) -> httpx.Response:
        return self.http.put(f"/studies/{study}/analysis/suppress/{analysis_id}")

    def analysis(self, study: str, analysis_id: str) -> httpx.Response:
        return self.http.get(f"/studies/{study}/analysis/{analysis_id}")


def register(
    song_url: str, study: str, files: dict[str, tuple[bytes, str]], token: str | None = None
) -> dict[str, str]:
    """Create `study` if needed and submit `files`; returns file name -> object id."""
    client = SongClient(song_url, token)
    try:
        client.create_study(study)
        response = client.submit(study, payload(study, files))
        assert response.status_code == 200, response.text
        analysis_id = response.json()["analysisId"]
        names = {name: object_id(analysis_id, name) for name in files}
        names["analysis"] = analysis_id
        return names
    finally:
        client.close()
