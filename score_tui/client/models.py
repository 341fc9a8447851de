"""Typed views of the wire JSON the client reads: Score's ObjectSpecification and Song's entity."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class SpecPart:
    """One part of a spec: where it sits in the object, its URL and the MD5 Score recorded."""

    number: int
    size: int
    offset: int
    url: str | None
    md5: str | None
    source_md5: str | None

    @classmethod
    def from_wire(cls, wire: dict[str, Any]) -> SpecPart:
        return cls(
            number=int(wire["partNumber"]),
            size=int(wire["partSize"]),
            offset=int(wire["offset"]),
            url=wire.get("url"),
            md5=wire.get("md5"),
            source_md5=wire.get("sourceMd5"),
        )


@dataclass(frozen=True, slots=True)
class ObjectSpec:
    """An upload or download specification (`objectSize` is the length the spec covers)."""

    object_id: str
    upload_id: str | None
    parts: tuple[SpecPart, ...]
    object_size: int
    object_md5: str | None

    @classmethod
    def from_wire(cls, wire: dict[str, Any]) -> ObjectSpec:
        return cls(
            object_id=str(wire["objectId"]),
            upload_id=wire.get("uploadId"),
            parts=tuple(SpecPart.from_wire(p) for p in wire.get("parts") or []),
            object_size=int(wire.get("objectSize") or 0),
            object_md5=wire.get("objectMd5"),
        )


@dataclass(frozen=True, slots=True)
class Entity:
    """Song's legacy entity: a file with its analysis (`gnosId`), study and access."""

    id: str
    file_name: str
    gnos_id: str
    project_code: str
    access: str

    @classmethod
    def from_wire(cls, wire: dict[str, Any]) -> Entity:
        return cls(
            id=str(wire["id"]),
            file_name=str(wire.get("fileName") or ""),
            gnos_id=str(wire.get("gnosId") or ""),
            project_code=str(wire.get("projectCode") or ""),
            access=str(wire.get("access") or ""),
        )


@dataclass(frozen=True, slots=True)
class SongFile:
    """A file of a Song analysis, as Song lists it."""

    object_id: str | None
    name: str
    size: int
    md5: str

    @classmethod
    def from_wire(cls, wire: dict[str, Any]) -> SongFile:
        size = wire.get("fileSize")
        return cls(
            object_id=str(wire["objectId"]) if wire.get("objectId") else None,
            name=str(wire.get("fileName") or ""),
            size=size if isinstance(size, int) and not isinstance(size, bool) else 0,
            md5=str(wire.get("fileMd5sum") or ""),
        )


@dataclass(frozen=True, slots=True)
class Analysis:
    """A Song analysis: its id, state (`UNPUBLISHED`, `PUBLISHED`, `SUPPRESSED`) and files."""

    analysis_id: str
    state: str
    files: tuple[SongFile, ...]

    @classmethod
    def from_wire(cls, wire: dict[str, Any]) -> Analysis:
        files = wire.get("files")
        return cls(
            analysis_id=str(wire.get("analysisId") or ""),
            state=str(wire.get("analysisState") or ""),
            files=tuple(song_files(files if isinstance(files, list) else [])),
        )


def song_files(wire: list[Any]) -> list[SongFile]:
    return [SongFile.from_wire(item) for item in wire if isinstance(item, dict)]
