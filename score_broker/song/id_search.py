"""Song's analysis search by ids (`/studies/{s}/analysis/search/id`)."""

from __future__ import annotations

from typing import Any

#: The search's fields: where each is found in an analysis' samples (entity, key).
SAMPLE_FIELDS = {
    "donorId": ("donor", "donorId"),
    "submitterDonorId": ("donor", "submitterDonorId"),
    "specimenId": ("specimen", "specimenId"),
    "submitterSpecimenId": ("specimen", "submitterSpecimenId"),
    "sampleId": (None, "sampleId"),
    "submitterSampleId": (None, "submitterSampleId"),
}
#: The file's object id: `fileId` in the query, `objectId` in the POST body.
FILE_FIELDS = ("fileId", "objectId")
FIELDS = (*SAMPLE_FIELDS, *FILE_FIELDS)


def _sample_matches(sample: dict[str, Any], wanted: dict[str, str]) -> bool:
    for field, (entity, key) in SAMPLE_FIELDS.items():
        if field not in wanted:
            continue
        holder = sample.get(entity) if entity else sample
        if not isinstance(holder, dict) or holder.get(key) != wanted[field]:
            return False
    return True


def matches(analysis: dict[str, Any], wanted: dict[str, str]) -> bool:
    """Whether a sample of the analysis has every sample id given, and a file the object id."""
    samples = [s for s in analysis.get("samples") or [] if isinstance(s, dict)]
    if not any(_sample_matches(sample, wanted) for sample in samples):
        return False
    object_ids = {f.get("objectId") for f in analysis.get("files") or [] if isinstance(f, dict)}
    return all(wanted[field] in object_ids for field in FILE_FIELDS if field in wanted)
