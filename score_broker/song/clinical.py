"""Song's clinical entities (donors, specimens, samples) as its read endpoints serve them.

The embedded Song keeps them inside each analysis' samples, with Song's generated ids (the same
submitter id in a study always gives the same id), so they are gathered from the analyses: a
donor, specimen or sample is the latest analysis' version of it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from score_broker.database.connection import Database
from score_broker.song.database import stored_json
from score_broker.song.errors import SongError, not_related, shown

DONOR_FIELDS = ("donorId", "submitterDonorId", "studyId", "gender")
SPECIMEN_FIELDS = (
    "specimenId", "donorId", "submitterSpecimenId", "tumourNormalDesignation",
    "specimenTissueSource", "specimenType",
)  # fmt: skip
SAMPLE_FIELDS = (
    "sampleId", "specimenId", "submitterSampleId", "matchedNormalSubmitterSampleId", "sampleType",
)  # fmt: skip


def _entity(stored: Any, names: tuple[str, ...]) -> dict[str, Any]:
    """Song's fields of an entity, in Song's order, with `info` always an object."""
    stored = stored if isinstance(stored, dict) else {}
    entity = {name: stored.get(name) for name in names}
    info = stored.get("info")
    entity["info"] = info if isinstance(info, dict) else {}
    return entity


@dataclass
class Clinical:
    """Every donor, specimen and sample of the analyses read, by id."""

    donors: dict[str, dict[str, Any]] = field(default_factory=dict)
    specimens: dict[str, dict[str, Any]] = field(default_factory=dict)
    samples: dict[str, dict[str, Any]] = field(default_factory=dict)

    def add(self, sample: dict[str, Any]) -> None:
        donor = _entity(sample.get("donor"), DONOR_FIELDS)
        specimen = _entity(sample.get("specimen"), SPECIMEN_FIELDS)
        plain = _entity(sample, SAMPLE_FIELDS)
        for table, entity, key in (
            (self.donors, donor, "donorId"),
            (self.specimens, specimen, "specimenId"),
            (self.samples, plain, "sampleId"),
        ):
            if isinstance(entity.get(key), str):
                table[entity[key]] = entity


def _table(found: Clinical, kind: str) -> dict[str, dict[str, Any]]:
    return {"donor": found.donors, "specimen": found.specimens, "sample": found.samples}[kind]


class ClinicalEntities:
    """Reads of donors, specimens and samples, and a study with all of them."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def gather(self, study_id: str | None = None) -> Clinical:
        where, args = ("WHERE study_id = ?", (study_id,)) if study_id else ("", ())
        rows = self.db.query(
            f"SELECT data FROM analysis {where} ORDER BY created_at, id",  # noqa: S608
            args,
        )
        found = Clinical()
        for row in rows:
            data = stored_json(row["data"])
            samples = data.get("samples") if isinstance(data, dict) else None
            for sample in samples if isinstance(samples, list) else []:
                if isinstance(sample, dict):
                    found.add(sample)
        return found

    def read(self, kind: str, study_id: str, entity_id: str) -> dict[str, Any]:
        """A donor, specimen or sample of the study; Song's errors when it does not exist or
        belongs to another study."""
        entity = _table(self.gather(study_id), kind).get(entity_id)
        if entity is not None:
            return entity
        context = f"{kind.capitalize()}Service"
        everywhere = self.gather()  # only to tell another study's entity from none at all
        if entity_id in _table(everywhere, kind):
            raise not_related(f"{kind}Id", entity_id, study_id, context)
        raise SongError(
            f"{kind}.does.not.exist",
            404,
            f"The {kind}Id '{shown(entity_id)}' does not exist",
            context,
        )

    def study_with_donors(self, study: dict[str, Any]) -> dict[str, Any]:
        """The study (as `GET /studies/{s}` gives it) with its donors, each with its specimens,
        each with its samples: Song's StudyWithDonors."""
        found = self.gather(study["studyId"])
        donors = []
        for donor_id, donor in sorted(found.donors.items()):
            specimens = []
            for specimen_id, specimen in sorted(found.specimens.items()):
                if specimen.get("donorId") != donor_id:
                    continue
                samples = [
                    sample
                    for _, sample in sorted(found.samples.items())
                    if sample.get("specimenId") == specimen_id
                ]
                specimens.append({**specimen, "samples": samples})
            donors.append({**donor, "specimens": specimens})
        return {**study, "donors": donors}
