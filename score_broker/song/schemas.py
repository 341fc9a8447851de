"""Analysis types: the base payload schema every submission must meet, and the seeded types.

A type's schema is merged with the base schema ("rendered") before a payload is validated, as
Song does. File fields follow Song's base schema exactly; sample, specimen and donor fields are
required as in Song, but their vocabularies are checked only where Song's are short
(tumourNormalDesignation, gender).
"""

from __future__ import annotations

import copy
from typing import Any

FILE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["fileName", "fileSize", "fileMd5sum", "fileAccess", "fileType", "dataType"],
    "properties": {
        "fileName": {"type": "string", "pattern": r"^[A-Za-z0-9_\.\-\[\]\(\)]+$"},
        "fileSize": {"type": "integer", "minimum": -(2**63), "maximum": 2**63 - 1},
        "fileMd5sum": {"type": "string", "pattern": "^[a-fA-F0-9]{32}$"},
        "fileAccess": {"type": "string", "enum": ["open", "controlled"]},
        "fileType": {"type": "string"},
        "dataType": {"type": "string"},
        "info": {"type": "object"},
    },
}

SAMPLE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["submitterSampleId", "sampleType", "specimen", "donor"],
    "properties": {
        "submitterSampleId": {"type": "string", "minLength": 1},
        "sampleType": {"type": "string", "minLength": 1},
        "matchedNormalSubmitterSampleId": {"type": ["string", "null"]},
        "specimen": {
            "type": "object",
            "required": [
                "submitterSpecimenId",
                "specimenTissueSource",
                "tumourNormalDesignation",
                "specimenType",
            ],
            "properties": {
                "submitterSpecimenId": {"type": "string", "minLength": 1},
                "specimenTissueSource": {"type": "string", "minLength": 1},
                "tumourNormalDesignation": {"type": "string", "enum": ["Normal", "Tumour"]},
                "specimenType": {"type": "string", "minLength": 1},
            },
        },
        "donor": {
            "type": "object",
            "required": ["submitterDonorId", "gender"],
            "properties": {
                "submitterDonorId": {"type": "string", "minLength": 1},
                "gender": {"type": "string", "enum": ["Male", "Female", "Other"]},
            },
        },
    },
}

BASE_SCHEMA: dict[str, Any] = {
    "$schema": "http://json-schema.org/draft-07/schema#",
    "type": "object",
    "required": ["studyId", "analysisType", "samples", "files"],
    "properties": {
        "analysisId": False,
        "analysisState": False,
        "createdAt": False,
        "updatedAt": False,
        "firstPublishedAt": False,
        "publishedAt": False,
        "analysisStateHistory": False,
        "studyId": {"type": "string", "minLength": 1},
        "analysisType": {
            "type": "object",
            "required": ["name"],
            "properties": {
                "name": {"type": "string", "minLength": 1},
                "version": {"type": ["integer", "null"]},
            },
        },
        "samples": {"type": "array", "minItems": 1, "items": SAMPLE_SCHEMA},
        "files": {"type": "array", "minItems": 1, "items": FILE_SCHEMA},
    },
}

SEEDED_TYPES: list[tuple[str, dict[str, Any]]] = [
    (
        "variantCall",
        {
            "type": "object",
            "required": ["experiment"],
            "properties": {
                "experiment": {
                    "type": "object",
                    "required": ["matchedNormalSampleSubmitterId", "variantCallingTool"],
                    "properties": {
                        "matchedNormalSampleSubmitterId": {"type": "string"},
                        "variantCallingTool": {"type": "string"},
                    },
                }
            },
        },
    ),
    (
        "sequencingRead",
        {
            "type": "object",
            "required": ["experiment"],
            "properties": {
                "experiment": {
                    "type": "object",
                    "required": ["libraryStrategy"],
                    "properties": {
                        "libraryStrategy": {
                            "type": "string",
                            "enum": [
                                "WGS",
                                "WXS",
                                "RNA-Seq",
                                "ChIP-Seq",
                                "miRNA-Seq",
                                "Bisulfite-Seq",
                                "Validation",
                                "Amplicon",
                                "Other",
                            ],
                        },
                        "aligned": {"type": ["boolean", "null"]},
                        "alignmentTool": {"type": ["string", "null"]},
                        "insertSize": {"type": ["integer", "null"]},
                        "pairedEnd": {"type": ["boolean", "null"]},
                        "referenceGenome": {"type": ["string", "null"]},
                    },
                }
            },
        },
    ),
    (
        "generic",
        {
            "type": "object",
            "required": ["experiment"],
            "properties": {"experiment": {"type": "object"}},
        },
    ),
]


def render(type_schema: dict[str, Any]) -> dict[str, Any]:
    """The base schema merged with a type's schema: properties and required lists combined."""
    rendered = copy.deepcopy(BASE_SCHEMA)
    rendered["properties"].update(copy.deepcopy(type_schema.get("properties", {})))
    rendered["required"] = list(
        dict.fromkeys([*rendered["required"], *type_schema.get("required", [])])
    )
    return rendered
