"""Reading a study from a Song server over HTTP, for `score-broker song import`.

Only Song's open read endpoints are used: the study, its analyses in every state (which carry
the ids, states and state history that Song's export leaves out), each analysis' export (the
payload in Song's own form) and analysis types. Every failure is a `SongSourceError` whose
message says what to do; the token is sent, never shown.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import httpx

from score_broker.errors import BrokerError

ALL_STATES = "PUBLISHED,UNPUBLISHED,SUPPRESSED"


class SongSourceError(BrokerError):
    """The source Song could not be read; the message says what to check."""


def _part(value: str) -> str:
    return quote(value, safe="")


@dataclass
class SongSource:
    """A Song server at `url` (its base: `https://song.example.org`, `http://host:port/song`)."""

    url: str
    token: str | None = None
    timeout: float = 60.0

    def __post_init__(self) -> None:
        self.url = self.url.rstrip("/")
        headers = {"Accept": "application/json"}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        self._http = httpx.Client(
            base_url=self.url, headers=headers, timeout=self.timeout, follow_redirects=True
        )

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> SongSource:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def _get(self, path: str, params: dict[str, str] | None = None) -> httpx.Response:
        try:
            response = self._http.get(path, params=params)
        except httpx.HTTPError as error:
            raise SongSourceError(
                f"cannot reach Song at {self.url} ({type(error).__name__}: {error}); check --from "
                "and that the server is up"
            ) from None
        if response.status_code in (401, 403):
            advice = (
                "check that the token in --token-file is valid and not expired"
                if self.token
                else "pass a token with --token-file"
            )
            raise SongSourceError(
                f"Song at {self.url} refused the request (HTTP {response.status_code} to GET "
                f"{path}); {advice}"
            )
        return response

    def _json(self, path: str, params: dict[str, str] | None = None) -> Any:
        return self._parsed(self._get(path, params), path)

    def _parsed(self, response: httpx.Response, path: str) -> Any:
        if response.status_code != 200:
            raise SongSourceError(
                f"Song at {self.url} answered HTTP {response.status_code} "
                f"({_error_id(response) or 'not a Song error'}) to GET {path}; check --from, or "
                "try again later if the server is unwell"
            )
        try:
            return response.json()
        except ValueError:
            raise SongSourceError(
                f"{self.url} answered GET {path} with something other than JSON; check that "
                "--from is a Song server's base URL (a broker's Song is at http://host:port/song)"
            ) from None

    def study(self, study_id: str) -> dict[str, Any]:
        """The study as `GET /studies/{s}` gives it."""
        path = f"/studies/{_part(study_id)}"
        response = self._get(path)
        if response.status_code == 404:
            if _error_id(response) == "study.id.does.not.exist":
                raise SongSourceError(
                    f"Song at {self.url} has no study '{study_id}'; check --study "
                    f"(GET {self.url}/studies/all lists them)"
                )
            raise SongSourceError(
                f"{self.url} has no Song study endpoint (HTTP 404 to GET {path}); check that "
                "--from is a Song server's base URL (a broker's Song is at http://host:port/song)"
            )
        study = self._parsed(response, path)
        if not isinstance(study, dict) or study.get("studyId") != study_id:
            raise SongSourceError(
                f"{self.url} did not answer GET {path} with the study; check --from"
            )
        return study

    def analyses(self, study_id: str) -> list[dict[str, Any]]:
        """Every analysis of the study, in any state, as `GET /studies/{s}/analysis` reads it."""
        path = f"/studies/{_part(study_id)}/analysis"
        analyses = self._json(path, {"analysisStates": ALL_STATES})
        if not isinstance(analyses, list) or not all(isinstance(a, dict) for a in analyses):
            raise SongSourceError(f"{self.url} did not answer GET {path} with a list of analyses")
        return analyses

    def exported_payload(self, study_id: str, analysis_id: str) -> dict[str, Any] | None:
        """The analysis' payload from Song's export (`GET /export/analysis/{id}`); None if the
        export does not hold it."""
        exported = self._json(f"/export/analysis/{_part(analysis_id)}")
        for group in exported if isinstance(exported, list) else []:
            payloads = group.get("payloads") if isinstance(group, dict) else None
            if group.get("studyId") == study_id and isinstance(payloads, list) and payloads:
                payload = payloads[0]
                return payload if isinstance(payload, dict) else None
        return None

    def analysis_type(self, name: str, version: int) -> dict[str, Any] | None:
        """The analysis type's version with its schema as registered (unrendered); None if the
        source does not have it."""
        path = f"/schemas/{_part(name)}"
        params = {"version": str(version), "unrenderedOnly": "true"}
        response = self._get(path, params)
        if response.status_code == 404:
            return None
        found = self._parsed(response, path)
        return found if isinstance(found, dict) else None


def _error_id(response: httpx.Response) -> str | None:
    """Song's errorId of an error answer, if it is one."""
    try:
        body = response.json()
    except ValueError:
        return None
    error_id = body.get("errorId") if isinstance(body, dict) else None
    return error_id if isinstance(error_id, str) else None
