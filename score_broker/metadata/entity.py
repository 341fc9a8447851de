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
