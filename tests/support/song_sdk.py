"""The overture-song Python SDK (PyPI `overture-song==5.0.0`), importable on Python 3.11+.

SDK 5.0.0 gives two dataclass fields an `AnalysisType` instance as default
(`SequencingReadAnalysis.analysisType`, `VariantCallAnalysis.analysisType`). Python 3.11 rejects
unhashable dataclass defaults (bpo-44674), so `import overture_song.client` fails there with
"mutable default ... is not allowed". The SDK's files stay as published: while its modules are
imported, and only for SDK entity defaults, `dataclasses` accepts them as Python 3.10 did; the
check is restored before this module finishes. Everything else runs unchanged.
"""

from __future__ import annotations

import dataclasses
from typing import Any

_check_field = dataclasses._get_field  # type: ignore[attr-defined]


def _field_as_python_310(cls: type, name: str, kind: Any, *rest: Any) -> Any:
    default_type = type(cls.__dict__.get(name))
    if default_type.__module__ != "overture_song.entities" or default_type.__hash__ is not None:
        return _check_field(cls, name, kind, *rest)
    default_type.__hash__ = object.__hash__  # type: ignore[assignment]
    try:
        return _check_field(cls, name, kind, *rest)
    finally:
        default_type.__hash__ = None  # type: ignore[assignment]


dataclasses._get_field = _field_as_python_310  # type: ignore[attr-defined]
try:
    from overture_song.client import Api, ManifestClient, StudyClient
    from overture_song.entities import Study
    from overture_song.model import ApiConfig, FileUpdateRequest, SongError
finally:
    dataclasses._get_field = _check_field  # type: ignore[attr-defined]

__all__ = [
    "Api",
    "ApiConfig",
    "FileUpdateRequest",
    "ManifestClient",
    "SongError",
    "Study",
    "StudyClient",
]
