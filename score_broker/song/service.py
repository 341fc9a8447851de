"""The embedded Song's behaviour: studies, submissions, analyses and their states, entities."""

from __future__ import annotations

import itertools
import json
import uuid
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from jsonschema import Draft7Validator, ValidationError

from score_broker.auth.identity import folded
from score_broker.config import LimitSettings
from score_broker.database.connection import Database, StoredRow, Transaction
from score_broker.song import analysis_update, export, file_update, id_search
from score_broker.song.analysis_types import AnalysisTypes
from score_broker.song.clinical import ClinicalEntities
from score_broker.song.database import now_text, stored_json
from score_broker.song.entities import LegacyEntities
from score_broker.song.errors import (
    SongError,
    analysis_not_found,
    malformed,
    not_related,
    shown,
    study_not_found,
)
from score_broker.song.events import ACTION_OF_STATE, Outbox
from score_broker.song.payload import read_json, read_submission
from score_broker.song.schemas import render
from score_broker.song.storage_check import StorageCheck

STATES = ("PUBLISHED", "UNPUBLISHED", "SUPPRESSED")
STUDY_FIELDS = ("name", "organization", "description", "info")
REPORTED_PROBLEMS = 10
FILE_COLUMNS = (
    "fileName",
    "fileSize",
    "fileMd5sum",
    "fileAccess",
    "fileType",
    "dataType",
    "info",
    "objectId",
    "analysisId",
    "studyId",
)


def object_id_for(analysis_id: str, file_name: str) -> str:
    """Song's object id: a name-based UUID v5 in the OID namespace."""
    return str(uuid.uuid5(uuid.NAMESPACE_OID, f"{analysis_id}:{file_name}"))


def _entity_id(study_id: str, submitter_id: str) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_OID, f"{study_id}:{submitter_id}"))


def _file_json(row: StoredRow) -> dict[str, Any]:
    wire: dict[str, Any] = {
        "objectId": row["id"],
        "studyId": row["study_id"],
        "analysisId": row["analysis_id"],
        "fileName": row["name"],
        "fileSize": row["size"],
        "fileType": row["type"],
        "fileMd5sum": row["md5"],
        "fileAccess": row["access"],
        "dataType": row["data_type"],
    }
    info = stored_json(row["info"])
    if info:
        wire["info"] = info
    return wire


def _same_ignoring_case(study_ids: Iterable[str], study_id: str) -> list[str]:
    wanted = folded(study_id)
    return [other for other in study_ids if folded(other) == wanted]


def _problem(error: ValidationError) -> str:
    """A schema problem in one line, long values cut short."""
    message = error.message
    instance = repr(error.instance)
    if len(instance) > 80:
        message = message.replace(instance, shown(instance))
    return f"{shown('/'.join(map(str, error.path)) or 'payload')}: {message}"


def _with_ids(study_id: str, sample: dict[str, Any]) -> dict[str, Any]:
    """A payload sample with Song's generated sample, specimen and donor ids."""
    donor = dict(sample["donor"])
    donor_id = _entity_id(study_id, donor["submitterDonorId"])
    donor = {"donorId": donor_id, **donor, "studyId": study_id}
    specimen = dict(sample["specimen"])
    specimen_id = _entity_id(study_id, specimen["submitterSpecimenId"])
    specimen = {"specimenId": specimen_id, "donorId": donor_id, **specimen}
    rest = {k: v for k, v in sample.items() if k not in ("specimen", "donor")}
    sample_id = _entity_id(study_id, sample["submitterSampleId"])
    return {
        "sampleId": sample_id,
        "specimenId": specimen_id,
        **rest,
        "specimen": specimen,
        "donor": donor,
    }


#: Reads rows: the database's committed state, or inside a transaction.
Reader = Callable[[str, Sequence[Any]], list[StoredRow]]


def check_schema(payload: dict[str, Any], schema_row: StoredRow) -> None:
    """The analysis type's schema (the first problems reported), distinct file names and
    the type's file types."""
    validator = Draft7Validator(render(json.loads(schema_row["schema"])))
    problems = list(itertools.islice(validator.iter_errors(payload), REPORTED_PROBLEMS))
    if problems:
        text = "; ".join(_problem(p) for p in problems)
        raise SongError("schema.violation", 400, text, "ValidationService")
    names = [f["fileName"] for f in payload["files"]]
    if len(set(names)) != len(names):
        raise malformed("Every file of an analysis needs its own fileName")
    file_types = json.loads(schema_row["file_types"])
    for file in payload["files"]:
        if file_types and file["fileType"] not in file_types:
            raise SongError(
                "schema.violation",
                400,
                f"{shown(file['fileName'])} name is not supported, supported formats are "
                f"{', '.join(file_types)}",
                "ValidationService",
            )


def insert_file(
    db: Transaction,
    study_id: str,
    analysis_id: str,
    position: int,
    file: Any,
    object_id: str | None = None,
) -> None:
    """One file row of an analysis; its object id Song's formula unless given."""
    info = {k: v for k, v in file.items() if k not in FILE_COLUMNS}
    info.update(file.get("info") or {})
    db.execute(
        "INSERT INTO file (id, analysis_id, study_id, name, size, md5, type, access, "
        "data_type, info, position) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
        (
            object_id or object_id_for(analysis_id, file["fileName"]),
            analysis_id,
            study_id,
            file["fileName"],
            file["fileSize"],
            file["fileMd5sum"],
            file["fileType"],
            file["fileAccess"],
            file["dataType"],
            json.dumps(info) if info else None,
            position,
        ),
    )


class SongService:
    """What the embedded Song does; every failure is a SongError with Song's errorId."""

    def __init__(
        self,
        database: Database,
        storage: StorageCheck,
        limits: LimitSettings | None = None,
        outbox: Outbox | None = None,
    ) -> None:
        self.db = database
        self.storage = storage
        self.limits = limits or LimitSettings()
        self.outbox = outbox or Outbox()
        self.entities = LegacyEntities(database)
        self.clinical = ClinicalEntities(database)
        self.types = AnalysisTypes(database)

    # -- studies -------------------------------------------------------------------------------

    def list_studies(self) -> list[str]:
        return [row["id"] for row in self.db.query("SELECT id FROM study ORDER BY id")]

    def _study_row(self, study_id: str) -> StoredRow:
        rows = self.db.query("SELECT * FROM study WHERE id = ?", (study_id,))
        if not rows:
            raise study_not_found(study_id)
        return rows[0]

    def get_study(self, study_id: str) -> dict[str, Any]:
        row = self._study_row(study_id)
        wire: dict[str, Any] = {"studyId": row["id"]}
        for name in STUDY_FIELDS:
            value = stored_json(row[name]) if name == "info" else row[name]
            if value:
                wire[name] = value
        return wire

    def study_with_donors(self, study_id: str) -> dict[str, Any]:
        return self.clinical.study_with_donors(self.get_study(study_id))

    def clinical_entity(self, kind: str, study_id: str, entity_id: str) -> dict[str, Any]:
        self._study_row(study_id)
        return self.clinical.read(kind, study_id, entity_id)

    def studies_ignoring_case(self, study_id: str) -> list[str]:
        """The studies whose id equals `study_id` ignoring case, as Score compares scopes."""
        return _same_ignoring_case(self.list_studies(), study_id)

    def create_study(self, study_id: str, raw_body: bytes) -> dict[str, str]:
        """Song's create-study; refused if a study's id equals this one ignoring case."""
        body = read_json(raw_body, self.limits)
        if not isinstance(body, dict):
            raise SongError("payload.parsing", 422, "The study must be a JSON object")
        if body.get("studyId") != study_id:
            raise SongError(
                "study.id.mismatch",
                409,
                f"The studyId in the URL '{shown(study_id)}' does not match the body's "
                f"'{shown(body.get('studyId'))}'; send the same id in both",
                "StudyController",
            )
        info = body.get("info")
        texts_ok = all(isinstance(body.get(name), str | None) for name in STUDY_FIELDS[:3])
        if not texts_ok or not isinstance(info, dict | None):
            raise SongError(
                "payload.parsing",
                422,
                "The study's name, organization and description must be text and info an object",
            )
        values = [
            body.get(name) if name != "info" else (json.dumps(info) if info else None)
            for name in STUDY_FIELDS
        ]
        with self.db.transaction() as db:
            self._refuse_existing(db, study_id)
            db.execute(
                "INSERT INTO study (id, name, organization, description, info) VALUES (?,?,?,?,?)",
                (study_id, *values),
            )
        return {"message": f"Successfully created study '{study_id}'"}

    @staticmethod
    def _refuse_existing(db: Transaction, study_id: str) -> None:
        """Score compares study scopes ignoring case, so ids differing only in case would share
        them: such a study is refused as existing."""
        existing = _same_ignoring_case(
            (sid for (sid,) in db.execute("SELECT id FROM study")), study_id
        )
        if study_id in existing:
            raise SongError(
                "study.already.exists",
                409,
                f"The studyId '{shown(study_id)}' already exists",
                "StudyService",
            )
        if existing:
            raise SongError(
                "study.already.exists",
                409,
                f"The study '{shown(existing[0])}' already exists and differs from "
                f"'{shown(study_id)}' only in case; use '{shown(existing[0])}'",
                "StudyService",
            )

    # -- submit ------------------------------------------------------------------------------

    def submit(self, study_id: str, body: bytes, allow_duplicates: bool) -> dict[str, str]:
        """Song's submit: the payload checked against [limits] and its schema, then stored."""
        self._study_row(study_id)
        payload = self._checked_payload(study_id, read_submission(body, self.limits))
        schema_row = self.types.resolve(payload.get("analysisType"))
        check_schema(payload, schema_row)
        analysis_id = str(uuid.uuid4())
        data = {k: v for k, v in payload.items() if k not in ("studyId", "files")}
        data["analysisType"] = {"name": schema_row["name"], "version": schema_row["version"]}
        data["samples"] = [_with_ids(study_id, sample) for sample in payload["samples"]]
        files = payload["files"]
        created = now_text()
        with self.db.transaction() as db:
            if not allow_duplicates:
                self._refuse_duplicates(db, study_id, [f["fileMd5sum"] for f in files])
            db.execute(
                "INSERT INTO analysis (id, study_id, state, schema_id, data, created_at, "
                "updated_at) VALUES (?, ?, 'UNPUBLISHED', ?, ?, ?, ?)",
                (analysis_id, study_id, schema_row["id"], json.dumps(data), created, created),
            )
            for position, file in enumerate(files):
                insert_file(db, study_id, analysis_id, position, file)
            self._announce(db, analysis_id, "CREATE")
        return {"analysisId": analysis_id, "status": "OK"}

    @staticmethod
    def _checked_payload(study_id: str, payload: Any) -> dict[str, Any]:
        if not isinstance(payload, dict):
            raise SongError("payload.parsing", 422, "The payload must be a JSON object")
        if not payload.get("studyId"):
            raise SongError("study.id.missing", 400, "The payload has no studyId")
        if payload["studyId"] != study_id:
            raise SongError(
                "study.id.mismatch",
                409,
                f"The payload's studyId '{shown(payload['studyId'])}' does not match "
                f"'{shown(study_id)}'; send the same id in both",
            )
        return payload

    @staticmethod
    def _refuse_duplicates(db: Transaction, study_id: str, md5s: list[str]) -> None:
        """Song's duplicate guard (`info.already.exists`): a file of any study with the same MD5
        refuses the submission. Only a file of the submitter's own study is named; another
        study's is not revealed."""
        marks = ",".join("?" * len(md5s))
        duplicate = db.execute(
            f"SELECT id, md5, study_id FROM file WHERE md5 IN ({marks}) "  # noqa: S608
            "ORDER BY study_id = ? DESC, id LIMIT 1",
            (*md5s, study_id),
        ).fetchone()
        if duplicate is None:
            return
        where = (
            f"the file {duplicate['id']} of this study has md5 {duplicate['md5']}"
            if duplicate["study_id"] == study_id
            else f"a file of another study has md5 {duplicate['md5']}"
        )
        raise SongError(
            "info.already.exists",
            409,
            f"File already exist: {where}; submit with allowDuplicates=true to register it again",
            "AnalysisService",
        )

    # -- analyses ------------------------------------------------------------------------------

    def _analysis_row(self, study_id: str, analysis_id: str) -> StoredRow:
        self._study_row(study_id)
        rows = self.db.query("SELECT * FROM analysis WHERE id = ?", (analysis_id,))
        if not rows:
            raise analysis_not_found(analysis_id)
        if rows[0]["study_id"] != study_id:
            raise not_related("analysisId", analysis_id, study_id, "AnalysisService")
        return rows[0]

    def _files(self, analysis_id: str, read: Reader | None = None) -> list[StoredRow]:
        return (read or self.db.query)(
            "SELECT * FROM file WHERE analysis_id = ? ORDER BY position", (analysis_id,)
        )

    def _analysis_json(self, row: StoredRow, read: Reader | None = None) -> dict[str, Any]:
        """The analysis as Song serves it; `read` reads inside a transaction (default: the
        committed state)."""
        history = (read or self.db.query)(
            "SELECT * FROM analysis_state_change WHERE analysis_id = ? ORDER BY id", (row["id"],)
        )
        published = [h["updated_at"] for h in history if h["updated_state"] == "PUBLISHED"]
        data = stored_json(row["data"])
        data = data if isinstance(data, dict) else {}
        wire: dict[str, Any] = {
            "analysisId": row["id"],
            "studyId": row["study_id"],
            "analysisState": row["state"],
            "createdAt": row["created_at"],
            "updatedAt": row["updated_at"],
            "firstPublishedAt": published[0] if published else None,
            "publishedAt": published[-1] if published else None,
            "analysisStateHistory": [
                {
                    "initialState": h["initial_state"],
                    "updatedState": h["updated_state"],
                    "updatedAt": h["updated_at"],
                }
                for h in history
            ],
            "analysisType": data.pop("analysisType", None),
            "samples": data.pop("samples", []),
            "files": [_file_json(f) for f in self._files(row["id"], read)],
        }
        wire.update(data)
        return wire

    def get_analysis(self, study_id: str, analysis_id: str) -> dict[str, Any]:
        return self._analysis_json(self._analysis_row(study_id, analysis_id))

    def find_analysis(self, analysis_id: str) -> dict[str, Any] | None:
        """The analysis with this id, in whichever study holds it; None if none does."""
        rows = self.db.query("SELECT * FROM analysis WHERE id = ?", (analysis_id,))
        return self._analysis_json(rows[0]) if rows else None

    def analysis_files(self, study_id: str, analysis_id: str) -> list[dict[str, Any]]:
        self._analysis_row(study_id, analysis_id)
        files = self._files(analysis_id)
        if not files:
            raise SongError(
                "analysis.missing.files", 500, f"The analysisId '{analysis_id}' has no files"
            )
        return [_file_json(f) for f in files]

    def _states(self, states_csv: str) -> list[str]:
        states = [s.strip() for s in states_csv.split(",") if s.strip()]
        unknown = [s for s in states if s not in STATES]
        if unknown or not states:
            raise malformed(f"Unknown analysis states {shown(unknown)}; use {', '.join(STATES)}")
        return states

    def list_analyses(
        self, study_id: str, states_csv: str, limit: int | None = None, offset: int = 0
    ) -> list[dict[str, Any]]:
        self._study_row(study_id)
        states = self._states(states_csv)
        marks = ",".join("?" * len(states))
        rows = self.db.query(
            f"SELECT * FROM analysis WHERE study_id = ? AND state IN ({marks}) "  # noqa: S608
            "ORDER BY created_at, id",
            (study_id, *states),
        )
        if limit is not None:
            rows = rows[offset : offset + limit]
        return [self._analysis_json(row) for row in rows]

    def search_by_ids(self, study_id: str, wanted: dict[str, str]) -> list[dict[str, Any]]:
        """Song's id search: the study's analyses (any state) with a sample whose donor,
        specimen and sample ids (or submitter ids) and a file whose object id are the ones
        given. Values match exactly (Song takes them as regular expressions, which would let
        any caller stall the broker with one)."""
        analyses = self.list_analyses(study_id, "PUBLISHED,UNPUBLISHED,SUPPRESSED")
        return [a for a in analyses if id_search.matches(a, wanted)]

    def export_study(self, study_id: str) -> list[dict[str, Any]]:
        """Every analysis of the study, in any state, as its submission payload."""
        analyses = self.list_analyses(study_id, "PUBLISHED,UNPUBLISHED,SUPPRESSED")
        return export.exported(analyses) or [{"studyId": study_id, "payloads": []}]

    def export_analyses(self, analysis_ids: list[str]) -> list[dict[str, Any]]:
        """These analyses (of any studies) as submission payloads, grouped by study."""
        analyses = []
        for analysis_id in dict.fromkeys(analysis_ids):
            rows = self.db.query("SELECT * FROM analysis WHERE id = ?", (analysis_id,))
            if not rows:
                raise analysis_not_found(analysis_id)
            analyses.append(self._analysis_json(rows[0]))
        return export.exported(analyses)

    def count_analyses(self, study_id: str, states_csv: str) -> int:
        states = self._states(states_csv)
        marks = ",".join("?" * len(states))
        rows = self.db.query(
            f"SELECT COUNT(*) FROM analysis WHERE study_id = ? AND state IN ({marks})",  # noqa: S608
            (study_id, *states),
        )
        return int(rows[0][0])

    def get_file(self, study_id: str, object_id: str) -> dict[str, Any]:
        self._study_row(study_id)
        rows = self.db.query("SELECT * FROM file WHERE id = ?", (object_id,))
        if not rows:
            raise SongError(
                "file.not.found", 404, f"The objectId '{object_id}' was not found", "FileService"
            )
        if rows[0]["study_id"] != study_id:
            raise not_related("objectId", object_id, study_id, "FileService")
        return _file_json(rows[0])

    def update_analysis(self, study_id: str, analysis_id: str, body: bytes) -> None:
        """Song's PUT: the analysis' dynamic data replaced (samples and files kept)."""
        request = read_json(body, self.limits)
        self._analysis_row(study_id, analysis_id)
        if not isinstance(request, dict) or request.get("analysisType") is None:
            raise malformed("The updateAnalysisRequest does not contain the field 'analysisType'")
        type_row = self.types.resolve(request["analysisType"])
        analysis_update.check_update(request, json.loads(type_row["schema"]))
        self._store_update(analysis_id, request, type_row)

    def patch_analysis(self, study_id: str, analysis_id: str, body: bytes) -> None:
        """Song's PATCH: a JSON merge patch of the analysis' dynamic data."""
        patch = read_json(body, self.limits)
        row = self._analysis_row(study_id, analysis_id)
        data = stored_json(row["data"])
        data = data if isinstance(data, dict) else {}
        current = {k: v for k, v in data.items() if k != "samples"}
        merged = analysis_update.merge_patch(current, patch)
        type_rows = self.db.query("SELECT * FROM analysis_schema WHERE id = ?", (row["schema_id"],))
        if not type_rows:
            raise SongError("analysis.type.not.found", 404, "The analysis' type is not registered")
        analysis_update.check_update(merged, json.loads(type_rows[0]["schema"]))
        self._store_update(analysis_id, merged, type_rows[0])

    def _store_update(self, analysis_id: str, request: dict[str, Any], type_row: StoredRow) -> None:
        with self.db.transaction() as db:
            row = db.execute("SELECT data FROM analysis WHERE id = ?", (analysis_id,)).fetchone()
            old = stored_json(row["data"])
            samples = old.get("samples", []) if isinstance(old, dict) else []
            data = {k: v for k, v in request.items() if k != "analysisType"}
            data["analysisType"] = {"name": type_row["name"], "version": type_row["version"]}
            data["samples"] = samples
            db.execute(
                "UPDATE analysis SET data = ?, schema_id = ?, updated_at = ? WHERE id = ?",
                (json.dumps(data), type_row["id"], now_text(), analysis_id),
            )
            self._announce(db, analysis_id)

    def update_file(self, study_id: str, object_id: str, body: bytes) -> dict[str, Any]:
        """Song's file update; the answer is its FileUpdateResponse."""
        request = file_update.checked_request(object_id, read_json(body, self.limits))
        original = self.get_file(study_id, object_id)
        analysis_id = original["analysisId"]
        state = self.analysis_state(analysis_id)
        if state == "SUPPRESSED":
            raise file_update.illegal(object_id, analysis_id, "its analysisState is 'SUPPRESSED'")
        kind = file_update.update_type(original, request)
        if kind == "CONTENT_UPDATE" and state != "UNPUBLISHED":
            raise file_update.illegal(
                object_id,
                analysis_id,
                f"its analysisState is '{state}' and 'UNPUBLISHED' is required",
            )
        if kind != "NO_UPDATE":
            new = {**original, **{k: v for k, v in request.items() if v is not None}}
            with self.db.transaction() as db:
                db.execute(
                    "UPDATE file SET size = ?, md5 = ?, access = ?, data_type = ?, info = ? "
                    "WHERE id = ?",
                    (
                        new["fileSize"],
                        new["fileMd5sum"].lower(),
                        new["fileAccess"],
                        new["dataType"],
                        file_update.stored_info(request, original),
                        object_id,
                    ),
                )
                self._announce(db, analysis_id)
        verb = "No update for" if kind == "NO_UPDATE" else "Updated"
        return {
            "fileUpdateType": kind,
            "originalAnalysisState": state,
            "unpublishedAnalysis": False,
            "message": f"{verb} file with objectId '{object_id}' and analysisId '{analysis_id}'",
            "originalFile": original,
        }

    # -- states ----------------------------------------------------------------------------------

    def _announce(self, tx: Transaction, analysis_id: str, action: str | None = None) -> None:
        """Put the analysis message in the outbox, inside the transaction that made the change;
        `action` defaults to the one of the state the analysis is now in."""
        if not self.outbox.enabled:
            return

        def read(sql: str, parameters: Sequence[Any] = ()) -> list[StoredRow]:
            return tx.execute(sql, parameters).fetchall()

        row = read("SELECT * FROM analysis WHERE id = ?", (analysis_id,))[0]
        analysis = self._analysis_json(row, read)
        self.outbox.record(tx, action or ACTION_OF_STATE[row["state"]], analysis)

    def _change_state(self, analysis_id: str, updated: str) -> None:
        """Move to `updated` atomically; SUPPRESSED is final (even against a concurrent change)."""
        stamp = now_text()
        with self.db.transaction() as db:
            row = db.execute("SELECT state FROM analysis WHERE id = ?", (analysis_id,)).fetchone()
            if row["state"] == "SUPPRESSED" and updated != "SUPPRESSED":
                raise SongError(
                    "suppressed.state.transition",
                    400,
                    f"The analysisId '{analysis_id}' is SUPPRESSED and cannot be {updated.lower()}",
                    "AnalysisService",
                )
            db.execute(
                "UPDATE analysis SET state = ?, updated_at = ? WHERE id = ?",
                (updated, stamp, analysis_id),
            )
            db.execute(
                "INSERT INTO analysis_state_change (analysis_id, initial_state, updated_state, "
                "updated_at) VALUES (?, ?, ?, ?)",
                (analysis_id, row["state"], updated, stamp),
            )
            self._announce(db, analysis_id, ACTION_OF_STATE[updated])

    def publish(
        self, study_id: str, analysis_id: str, ignore_undefined_md5: bool
    ) -> dict[str, str]:
        """Song's publish: every file uploaded, with the size and MD5 Song registered."""
        row = self._analysis_row(study_id, analysis_id)
        if row["state"] == "SUPPRESSED":
            raise SongError(
                "suppressed.state.transition",
                400,
                f"The analysisId '{analysis_id}' is SUPPRESSED and cannot be published",
                "AnalysisService",
            )
        files = self._files(analysis_id)
        if not files:
            raise SongError(
                "analysis.missing.files", 500, f"The analysisId '{analysis_id}' has no files"
            )
        missing = [f["id"] for f in files if not self.storage.exists(f["id"])]
        if missing:
            raise SongError(
                "missing.storage.objects",
                409,
                f"The following storage objectIds must be uploaded before analysisId "
                f"'{analysis_id}' can be published: {', '.join(missing)}",
                "AnalysisService",
            )
        undefined = [f["id"] for f in files if not self._stored_md5_matches(f)]
        if undefined and not ignore_undefined_md5:
            raise SongError(
                "mismatching.storage.object.checksums",
                409,
                f"The stored objects {', '.join(undefined)} have an undefined md5 "
                "(publish with ignoreUndefinedMd5=true to allow it)",
                "AnalysisService",
            )
        self._change_state(analysis_id, "PUBLISHED")
        return {"message": f"AnalysisId {analysis_id} successfully published"}

    def _stored_md5_matches(self, file: StoredRow) -> bool:
        """Whether the store holds the file with its size and MD5: False when the stored MD5 is
        undefined; SongError when the object is gone or differs."""
        if not self.storage.exists(file["id"]):
            raise SongError(
                "storage.object.not.found",
                404,
                f"The objectId '{file['id']}' was not found in storage",
                "StorageService",
            )
        spec = self.storage.spec(file["id"])
        if spec["objectSize"] != file["size"]:
            raise SongError(
                "mismatching.storage.object.sizes",
                409,
                f"The file size {file['size']} of objectId '{file['id']}' does not match "
                f"the stored size {spec['objectSize']}",
                "AnalysisService",
            )
        stored_md5 = spec.get("objectMd5")
        if not stored_md5:
            return False
        if stored_md5.lower() != file["md5"].lower():
            raise SongError(
                "mismatching.storage.object.checksums",
                409,
                f"The md5 {file['md5']} of objectId '{file['id']}' does not match the "
                f"stored md5 {stored_md5}",
                "AnalysisService",
            )
        return True

    def unpublish(self, study_id: str, analysis_id: str) -> dict[str, str]:
        row = self._analysis_row(study_id, analysis_id)
        if row["state"] == "SUPPRESSED":
            raise SongError(
                "suppressed.state.transition",
                400,
                f"The analysisId '{analysis_id}' is SUPPRESSED and cannot be unpublished",
                "AnalysisService",
            )
        self._change_state(analysis_id, "UNPUBLISHED")
        return {"message": f"AnalysisId {analysis_id} successfully unpublished"}

    def suppress(self, study_id: str, analysis_id: str) -> dict[str, str]:
        self._analysis_row(study_id, analysis_id)
        self._change_state(analysis_id, "SUPPRESSED")
        return {"message": f"AnalysisId {analysis_id} was suppressed"}

    def analysis_state(self, analysis_id: str) -> str | None:
        rows = self.db.query("SELECT state FROM analysis WHERE id = ?", (analysis_id,))
        return str(rows[0]["state"]) if rows else None
