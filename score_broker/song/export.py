"""Song's export (`/export/studies/{s}`, `/export/analysis/{ids}`): each analysis as the
submission payload that would register it again (ExportService), grouped by study as
`[{"studyId", "payloads": [...]}]`, empty fields left out as Song's NON_EMPTY mixins do."""

from __future__ import annotations

from typing import Any

#: What an analysis read holds that a submission does not.
READ_ONLY = (
    "analysisId", "analysisState", "analysisStateHistory", "createdAt", "updatedAt",
    "firstPublishedAt", "publishedAt",
)  # fmt: skip
FILE_READ_ONLY = ("objectId", "studyId", "analysisId")
SAMPLE_IDS = ("sampleId", "specimenId")
SPECIMEN_IDS = ("specimenId", "donorId")
DONOR_IDS = ("donorId", "studyId")


def _non_empty(entity: dict[str, Any], dropped: tuple[str, ...] = ()) -> dict[str, Any]:
    return {
        k: v
        for k, v in entity.items()
        if k not in dropped and v is not None and v not in ("", {}, [])
    }


def _sample(sample: dict[str, Any]) -> dict[str, Any]:
    payload = _non_empty(sample, SAMPLE_IDS)
    if isinstance(sample.get("specimen"), dict):
        payload["specimen"] = _non_empty(sample["specimen"], SPECIMEN_IDS)
    if isinstance(sample.get("donor"), dict):
        payload["donor"] = _non_empty(sample["donor"], DONOR_IDS)
    return payload


def payload_of(analysis: dict[str, Any]) -> dict[str, Any]:
    """An analysis read (`GET /studies/{s}/analysis/{a}`) as its submission payload."""
    payload = _non_empty(analysis, READ_ONLY)
    payload["samples"] = [_sample(s) for s in analysis.get("samples") or [] if isinstance(s, dict)]
    payload["files"] = [
        _non_empty(f, FILE_READ_ONLY) for f in analysis.get("files") or [] if isinstance(f, dict)
    ]
    return payload


def exported(analyses: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Song's ExportedPayload list: the payloads grouped by study, in first-seen order."""
    by_study: dict[str, list[dict[str, Any]]] = {}
    for analysis in analyses:
        by_study.setdefault(str(analysis.get("studyId")), []).append(payload_of(analysis))
    return [{"studyId": study, "payloads": payloads} for study, payloads in by_study.items()]
