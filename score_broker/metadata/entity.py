"""Song's legacy entity: the view of a file Score reads."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class Entity:
    """A registered file: object id, analysis (gnosId), file name, study (projectCode), access."""

    id: str
    gnos_id: str
    file_name: str
    project_code: str
    access: str | None

    def to_wire(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "gnosId": self.gnos_id,
            "fileName": self.file_name,
            "projectCode": self.project_code,
            "access": self.access,
        }

    @classmethod
    def from_wire(cls, wire: dict[str, Any]) -> Entity:
        return cls(
            id=str(wire["id"]),
            gnos_id=str(wire["gnosId"]),
            file_name=str(wire.get("fileName") or ""),
            project_code=str(wire["projectCode"]),
            access=wire.get("access"),
        )


@dataclass(frozen=True, slots=True)
class FileRecord:
    """What Song registered about a file's bytes: `fileSize` and `fileMd5sum` (lower-case hex)."""

    size: int
    md5: str | None

    @classmethod
    def from_wire(cls, wire: dict[str, Any]) -> FileRecord | None:
        size, md5 = wire.get("fileSize"), wire.get("fileMd5sum")
        if not isinstance(size, int) or isinstance(size, bool):
            return None
        return cls(size=size, md5=md5.lower() if isinstance(md5, str) and md5 else None)
