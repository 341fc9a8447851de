"""Score's wire JSON (score-core `ObjectSpecification`, `Part`, `UploadProgress`, `CompletedPart`).

Field names, order and null handling follow Score's Jackson output: nulls are written, except a
part's `sourceMd5`, which is left out when it is null. Readers ignore unknown fields (old `.meta`
files carry `"relocated": false`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from typing import Any


@dataclass(slots=True)
class Part:
    """A part of an object: its place, its pre-signed URL and its MD5s."""

    part_number: int
    part_size: int
    offset: int
    url: str | None = None
    md5: str | None = None
    source_md5: str | None = None

    def to_wire(self) -> dict[str, Any]:
        wire: dict[str, Any] = {
            "partNumber": self.part_number,
            "partSize": self.part_size,
            "offset": self.offset,
            "url": self.url,
            "md5": self.md5,
        }
        if self.source_md5 is not None:
            wire["sourceMd5"] = self.source_md5
        return wire

    @classmethod
    def from_wire(cls, wire: dict[str, Any]) -> Part:
        return cls(
            part_number=int(wire["partNumber"]),
            part_size=int(wire["partSize"]),
            offset=int(wire["offset"]),
            url=wire.get("url"),
            md5=wire.get("md5"),
            source_md5=wire.get("sourceMd5"),
        )


@dataclass(slots=True)
class ObjectSpecification:
    """What a client needs to move an object: its key, upload id, parts and whole-object MD5."""

    object_key: str
    object_id: str
    upload_id: str
    parts: list[Part] = field(default_factory=list)
    object_size: int = 0
    object_md5: str | None = None
    #: When the upload was initiated (epoch seconds), as the broker recorded it; kept in the
    #: stored state only (Score ignores the extra field), never sent to clients.
    initiated: float | None = None

    def to_wire(self) -> dict[str, Any]:
        return {
            "objectKey": self.object_key,
            "objectId": self.object_id,
            "uploadId": self.upload_id,
            "parts": [part.to_wire() for part in self.parts],
            "objectSize": self.object_size,
            "objectMd5": self.object_md5,
        }

    def to_json(self) -> bytes:
        """The stored form: the wire form, and when the upload was initiated."""
        stored = self.to_wire()
        if self.initiated is not None:
            stored["initiated"] = self.initiated
        return json.dumps(stored, separators=(",", ":")).encode()

    @classmethod
    def from_wire(cls, wire: dict[str, Any]) -> ObjectSpecification:
        initiated = wire.get("initiated")
        return cls(
            object_key=wire["objectKey"],
            object_id=wire["objectId"],
            upload_id=wire["uploadId"],
            parts=[Part.from_wire(p) for p in wire.get("parts") or []],
            object_size=int(wire["objectSize"]),
            object_md5=wire.get("objectMd5"),
            initiated=float(initiated) if isinstance(initiated, int | float) else None,
        )

    @classmethod
    def from_json(cls, data: bytes) -> ObjectSpecification:
        return cls.from_wire(json.loads(data))

    def copy(self) -> ObjectSpecification:
        """A deep enough copy to change parts without touching the original."""
        return replace(self, parts=[replace(p) for p in self.parts])


@dataclass(slots=True)
class UploadProgress:
    """The answer to an upload status request: finished parts carry `sourceMd5`."""

    object_id: str
    upload_id: str
    parts: list[Part]

    def to_wire(self) -> dict[str, Any]:
        return {
            "objectId": self.object_id,
            "uploadId": self.upload_id,
            "parts": [part.to_wire() for part in self.parts],
        }


@dataclass(frozen=True, slots=True)
class CompletedPart:
    """A finished part, as recorded in the name of a zero-byte marker object."""

    part_number: int
    md5: str
    etag: str

    def to_json(self) -> str:
        return json.dumps(
            {"partNumber": self.part_number, "md5": self.md5, "etag": self.etag},
            separators=(",", ":"),
        )

    @classmethod
    def from_json(cls, text: str) -> CompletedPart:
        wire = json.loads(text)
        return cls(int(wire["partNumber"]), str(wire["md5"]), str(wire["etag"]))
