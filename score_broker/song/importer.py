"""Storing another Song's analyses in the embedded Song, for `score-broker song import`.

An imported analysis keeps what identifies it at the source: its analysis id, its files' object
ids, its donor, specimen and sample ids, its state and state history, its type's name and
version. Its own data is what the source's export gives (Song's payload form); the ids, state,
dates, samples and files come from the source's read of it, which holds what the export leaves
out. The analysis must meet its type's schema here, as a submission would. Each goes in with
its files in one transaction, or not at all. One already here with the same ids, state and
content is left as it is; one with the same id and anything else different is a conflict, and is
left alone too.

Song's duplicate-MD5 guard is not applied: it stops a submitter from registering the same bytes
twice by accident, and every imported analysis is already registered at the source.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from score_broker.song import export
from score_broker.song.database import now_text
from score_broker.song.errors import SongError, shown
from score_broker.song.service import (
    STATES,
    SongService,
    check_schema,
    insert_file,
    object_id_for,
)

IMPORTED = "imported"
PRESENT = "already present"
CONFLICTING = "conflicting"
FAILED = "failed"
STUDY_KEYS = ("studyId", "name", "organization", "description", "info")
#: The source's analysis type, as `GET /schemas/{name}?version=&unrenderedOnly=true` gives it.
SourceType = Callable[[str, int], dict[str, Any] | None]


@dataclass(frozen=True)
class Outcome:
    """What happened to one analysis: IMPORTED, PRESENT, CONFLICTING or FAILED, and why."""

    analysis_id: str
    kind: str
    detail: str = ""


class Refused(Exception):
    """An analysis not imported; raised inside its transaction, so nothing of it stays."""

    def __init__(self, kind: str, detail: str) -> None:
        super().__init__(detail)
        self.kind = kind
        self.detail = detail


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _dicts(value: Any) -> list[dict[str, Any]]:
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []


def imported_record(read: dict[str, Any], payload: dict[str, Any] | None) -> dict[str, Any]:
    """The analysis as the embedded Song will serve it. The export says what the analysis'
    own data is (a read mixes it with Song's fields); the read gives the ids, state and dates,
    and the samples and files whole (with null fields the export leaves out)."""
    analysis_id, study_id = read.get("analysisId"), read.get("studyId")
    if not isinstance(analysis_id, str) or not isinstance(study_id, str):
        raise Refused(FAILED, "the source's read of it has no analysisId or studyId")
    if payload is None or payload.get("studyId") != study_id:
        raise Refused(FAILED, "the source's export does not hold it; check the source Song")
    state = read.get("analysisState")
    if state not in STATES:
        raise Refused(FAILED, f"its state {shown(state)} is not one of {', '.join(STATES)}")
    analysis_type = _dict(payload.get("analysisType"))
    if not isinstance(analysis_type.get("name"), str) or not isinstance(
        analysis_type.get("version"), int
    ):
        raise Refused(FAILED, "the source's export gives no analysis type name and version")
    read_samples = {s.get("submitterSampleId"): s for s in _dicts(read.get("samples"))}
    read_files = {f.get("fileName"): f for f in _dicts(read.get("files"))}
    samples, files = _dicts(payload.get("samples")), _dicts(payload.get("files"))
    unread = [
        s.get("submitterSampleId")
        for s in samples
        if s.get("submitterSampleId") not in read_samples
    ]
    unread += [f.get("fileName") for f in files if f.get("fileName") not in read_files]
    if unread:
        raise Refused(FAILED, f"the source's export and read of it differ ({shown(unread)})")
    if not files:
        raise Refused(FAILED, "the source's export of it has no files")
    dynamic = {
        k: v for k, v in payload.items() if k not in ("studyId", "analysisType", "samples", "files")
    }
    return {
        "analysisId": analysis_id,
        "studyId": study_id,
        "analysisState": state,
        "createdAt": read.get("createdAt"),
        "updatedAt": read.get("updatedAt"),
        "analysisStateHistory": _dicts(read.get("analysisStateHistory")),
        "analysisType": {"name": analysis_type["name"], "version": analysis_type["version"]},
        "samples": [read_samples[s.get("submitterSampleId")] for s in samples],
        "files": [
            {
                **read_files[f.get("fileName")],
                "objectId": read_files[f.get("fileName")].get("objectId")
                or object_id_for(analysis_id, str(f.get("fileName"))),
            }
            for f in files
        ],
        **dynamic,
    }


def _fingerprint(analysis: dict[str, Any]) -> dict[str, Any]:
    """What must be equal for an analysis here to be the source's: named as a user reads it."""
    samples = _dicts(analysis.get("samples"))
    return {
        "study": analysis.get("studyId"),
        "state": analysis.get("analysisState"),
        "object ids": [
            (f.get("fileName"), f.get("objectId")) for f in _dicts(analysis.get("files"))
        ],
        "donor, specimen and sample ids": [
            (s.get("sampleId"), s.get("specimenId"), _dict(s.get("donor")).get("donorId"))
            for s in samples
        ],
        "content": export.payload_of(analysis),
    }


def _difference(here: dict[str, Any], source: dict[str, Any]) -> str:
    mine, theirs = _fingerprint(here), _fingerprint(source)
    if mine["study"] != theirs["study"]:
        return f"it belongs to study {shown(mine['study'])} here"
    if mine["state"] != theirs["state"]:
        return f"it is {mine['state']} here and {theirs['state']} at the source"
    different = [name for name in mine if mine[name] != theirs[name]]
    return f"its {' and '.join(different)} differ here from the source's" if different else ""


class StudyImport:
    """Stores a source Song's study and analyses in the embedded Song `song`; analysis types
    missing here are registered from `source_type`."""

    def __init__(self, song: SongService, source_type: SourceType) -> None:
        self.song = song
        self.source_type = source_type

    def ensure_study(self, study: dict[str, Any]) -> bool:
        """Create the study here as the source describes it, unless it exists; True if created."""
        if study["studyId"] in self.song.list_studies():
            return False
        body = {key: study[key] for key in STUDY_KEYS if key in study}
        self.song.create_study(study["studyId"], json.dumps(body).encode())
        return True

    def analysis(self, read: dict[str, Any], payload: dict[str, Any] | None) -> Outcome:
        """Import one analysis: `read` as the source's `GET /studies/{s}/analysis` gives it,
        `payload` its export."""
        analysis_id = str(read.get("analysisId"))
        try:
            record = imported_record(read, payload)
            existing = self.song.find_analysis(analysis_id)
            if existing is not None:
                difference = _difference(existing, record)
                if difference:
                    return Outcome(analysis_id, CONFLICTING, f"{difference}; left as it is")
                return Outcome(analysis_id, PRESENT)
            name, version = record["analysisType"]["name"], record["analysisType"]["version"]
            registered = self._register_missing(name, version)
            type_row = next(r for r in self.song.types.rows(name) if r["version"] == version)
            try:
                check_schema(export.payload_of(record), type_row)
            except SongError as error:
                raise Refused(
                    FAILED, f"it does not meet {name} version {version} here: {error.text}"
                ) from None
            self._store(record, type_row["id"])
        except Refused as refused:
            return Outcome(analysis_id, refused.kind, refused.detail)
        detail = f"{record['analysisState']}, {name} v{version}, {len(record['files'])} files"
        if registered:
            detail += f" (registered {name} v{', v'.join(map(str, registered))} from the source)"
        return Outcome(analysis_id, IMPORTED, detail)

    def _register_missing(self, name: str, version: int) -> list[int]:
        """Register the source's versions of the type that are missing here, up to `version`
        (versions here are numbered 1, 2, ... as registered)."""
        registered = []
        for number in range(len(self.song.types.rows(name)) + 1, version + 1):
            found = self.source_type(name, number)
            if found is None:
                raise Refused(
                    FAILED,
                    f"analysis type {name} version {number} is neither here nor at the source",
                )
            request = {"name": name, "schema": found.get("schema"), "options": found.get("options")}
            try:
                answer = self.song.types.register(request)
            except SongError as error:
                raise Refused(
                    FAILED,
                    f"the source's analysis type {name} version {number} cannot be registered "
                    f"here ({error.text}); register it with POST /schemas, then run again",
                ) from None
            if answer["version"] != number:
                raise Refused(
                    FAILED, f"analysis type {name} was registered here meanwhile; run again"
                )
            registered.append(number)
        return registered

    def _store(self, record: dict[str, Any], schema_id: int) -> None:
        """The analysis, its state history and its files, in one transaction."""
        analysis_id, study_id = record["analysisId"], record["studyId"]
        now = now_text()
        history = [
            (h.get("initialState"), h.get("updatedState"), h.get("updatedAt") or now)
            for h in record["analysisStateHistory"]
            if h.get("initialState") in STATES and h.get("updatedState") in STATES
        ]
        if not history and record["analysisState"] != "UNPUBLISHED":
            # The state must have a history entry: it is where publish times are read from.
            history = [("UNPUBLISHED", record["analysisState"], now)]
        data = {k: v for k, v in export.payload_of(record).items() if k not in ("studyId", "files")}
        data["samples"] = record["samples"]
        created = record["createdAt"] or now
        object_ids = [f["objectId"] for f in record["files"]]
        marks = ",".join("?" * len(object_ids))
        with self.song.db.transaction() as db:
            if db.execute("SELECT id FROM analysis WHERE id = ?", (analysis_id,)).fetchone():
                raise Refused(CONFLICTING, "it was added here meanwhile; run again to compare")
            taken = db.execute(
                f"SELECT id, analysis_id FROM file WHERE id IN ({marks})",  # noqa: S608
                tuple(object_ids),
            ).fetchone()
            if taken is not None:
                raise Refused(
                    CONFLICTING,
                    f"its file {taken['id']} belongs to analysis {taken['analysis_id']} here",
                )
            db.execute(
                "INSERT INTO analysis (id, study_id, state, schema_id, data, created_at, "
                "updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    analysis_id,
                    study_id,
                    record["analysisState"],
                    schema_id,
                    json.dumps(data),
                    created,
                    record["updatedAt"] or created,
                ),
            )
            for initial, updated, stamp in history:
                db.execute(
                    "INSERT INTO analysis_state_change (analysis_id, initial_state, "
                    "updated_state, updated_at) VALUES (?, ?, ?, ?)",
                    (analysis_id, initial, updated, stamp),
                )
            for position, file in enumerate(record["files"]):
                insert_file(db, study_id, analysis_id, position, file, file["objectId"])
