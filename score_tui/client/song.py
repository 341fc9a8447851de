"""The Song calls the client needs: legacy entities (paged), analysis files, submit and publish."""

from __future__ import annotations

from typing import Any

import httpx

from score_tui.client.backoff import Backoff
from score_tui.client.errors import TransferError, network_error, service_error
from score_tui.client.models import Analysis, Entity, SongFile, song_files
from score_tui.client.retrying import retrying
from score_tui.client.score import service_http

PAGE_SIZE = 2000


class SongApi:
    """A Song server (or the broker's embedded Song) at `metadata_url`."""

    def __init__(
        self,
        metadata_url: str,
        token: str | None = None,
        *,
        timeout: float = 60.0,
        backoff: Backoff | None = None,
        ca_file: str | None = None,
    ) -> None:
        self.metadata_url = metadata_url.rstrip("/")
        self.backoff = backoff or Backoff(attempts=5)
        self._http = service_http(self.metadata_url, token, timeout, ca_file)

    async def aclose(self) -> None:
        await self._http.aclose()

    async def _json(
        self,
        what: str,
        method: str,
        path: str,
        params: dict[str, Any] | None = None,
        json: Any = None,
    ) -> Any:
        """One call's JSON answer. Reads and state changes (GET, PUT) are tried again while
        their failures are worth it; a submission (POST) is not, since Song may have taken it
        (a rerun of the upload looks for it instead)."""

        async def attempt() -> Any:
            try:
                response = await self._http.request(method, path, params, json)
            except httpx.HTTPError as exc:
                raise network_error(f"{what} (Song at {self.metadata_url})", exc) from exc
            if response.status_code >= 400:
                raise service_error(f"{what} (Song)", response)
            try:
                return response.json()
            except ValueError:
                raise TransferError(f"{what}: Song did not answer with JSON") from None

        if method == "POST":
            return await attempt()
        return await retrying(attempt, self.backoff)

    async def entity(self, object_id: str) -> Entity:
        wire = await self._json(f"looking up object {object_id}", "GET", f"/entities/{object_id}")
        return Entity.from_wire(wire)

    async def entities(self, **filters: str) -> list[Entity]:
        """Every entity matching the filters (`gnosId`, `projectCode`, ...), all pages."""
        found: list[Entity] = []
        page = 0
        while True:
            params = {**filters, "size": PAGE_SIZE, "page": page}
            body = await self._json("listing files", "GET", "/entities", params=params)
            found += [Entity.from_wire(item) for item in body.get("content") or []]
            if body.get("last", True) or not body.get("content"):
                return found
            page += 1

    async def analysis_files(self, study: str, analysis_id: str) -> list[SongFile]:
        what = f"files of analysis {analysis_id}"
        body = await self._json(what, "GET", f"/studies/{study}/analysis/{analysis_id}/files")
        return song_files(body if isinstance(body, list) else [])

    async def analysis(self, study: str, analysis_id: str) -> Analysis:
        """The analysis as Song has it: its state and files."""
        body = await self._json(
            f"looking up analysis {analysis_id}", "GET", f"/studies/{study}/analysis/{analysis_id}"
        )
        if not isinstance(body, dict):
            raise TransferError(f"Song's analysis {analysis_id} is not a JSON object")
        return Analysis.from_wire(body)

    async def analyses(self, study: str, states: str) -> list[Analysis]:
        """The study's analyses in the given states (comma-separated, e.g. `UNPUBLISHED`)."""
        body = await self._json(
            f"listing the analyses of study {study}",
            "GET",
            f"/studies/{study}/analysis",
            params={"analysisStates": states},
        )
        listed = body if isinstance(body, list) else []
        return [Analysis.from_wire(a) for a in listed if isinstance(a, dict)]

    async def submit(self, study: str, payload: dict[str, Any]) -> str:
        body = await self._json(
            f"registering files in study {study}", "POST", f"/submit/{study}", json=payload
        )
        if not isinstance(body, dict) or not body.get("analysisId"):
            raise TransferError(f"Song accepted the submission to {study} but gave no analysisId")
        return str(body["analysisId"])

    async def create_study(self, study: str) -> None:
        body = {"studyId": study, "name": study, "organization": "", "description": ""}
        await self._json(f"creating study {study}", "POST", f"/studies/{study}/", json=body)

    async def publish(self, study: str, analysis_id: str) -> None:
        await self._json(
            f"publishing analysis {analysis_id}",
            "PUT",
            f"/studies/{study}/analysis/publish/{analysis_id}",
        )
