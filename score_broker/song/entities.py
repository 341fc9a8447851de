"""Song's legacy entities: the view of files Score and score-client read (`/entities`)."""

from __future__ import annotations

from typing import Any

from score_broker.database.connection import Database, StoredRow
from score_broker.metadata.entity import Entity
from score_broker.song.errors import SongError

ENTITY_FILTERS = {
    "id": "id",
    "gnosId": "analysis_id",
    "fileName": "name",
    "projectCode": "study_id",
    "access": "access",
}
MAX_PAGE_SIZE = 2000


def _entity_json(row: StoredRow) -> dict[str, Any]:
    return {
        "id": row["id"],
        "gnosId": row["analysis_id"],
        "fileName": row["name"],
        "projectCode": row["study_id"],
        "access": row["access"],
    }


class LegacyEntities:
    """Entities by object id, and Spring Data pages of them filtered exactly."""

    def __init__(self, database: Database) -> None:
        self.db = database

    def entity(self, object_id: str) -> Entity | None:
        rows = self.db.query("SELECT * FROM file WHERE id = ?", (object_id,))
        return Entity.from_wire(_entity_json(rows[0])) if rows else None

    def entity_json(self, object_id: str) -> dict[str, Any]:
        rows = self.db.query("SELECT * FROM file WHERE id = ?", (object_id,))
        if not rows:
            raise SongError(
                "legacy.entity.not.found",
                404,
                f"The legacy entity '{object_id}' was not found",
                "LegacyEntityService",
            )
        return _entity_json(rows[0])

    def page(
        self, filters: dict[str, str], page: int, size: int, fields: list[str]
    ) -> dict[str, Any]:
        """A Spring Data page of entities matching every filter exactly, sorted by id."""
        if not 0 <= page < 2**31 or size < 1:
            raise SongError(
                "illegal.query.parameter",
                400,
                "page must be >= 0 and size >= 1",
                "LegacyEntityController",
            )
        size = min(size, MAX_PAGE_SIZE)
        unknown = [f for f in fields if f not in ENTITY_FILTERS]
        if unknown:
            raise SongError(
                "illegal.query.parameter",
                400,
                f"Unknown fields {unknown}",
                "LegacyEntityController",
            )
        where = " AND ".join(f"{ENTITY_FILTERS[k]} = ?" for k in filters) or "1 = 1"
        values = tuple(filters.values())
        total = int(self.db.query(f"SELECT COUNT(*) FROM file WHERE {where}", values)[0][0])  # noqa: S608
        rows = self.db.query(
            f"SELECT * FROM file WHERE {where} ORDER BY id LIMIT ? OFFSET ?",  # noqa: S608
            (*values, size, page * size),
        )
        content = [_entity_json(row) for row in rows]
        if fields:
            content = [{k: v for k, v in item.items() if k in fields} for item in content]
        pages = (total + size - 1) // size
        sort = {"empty": False, "sorted": True, "unsorted": False}
        return {
            "content": content,
            "pageable": {
                "sort": sort,
                "offset": page * size,
                "pageNumber": page,
                "pageSize": size,
                "paged": True,
                "unpaged": False,
            },
            "last": page >= pages - 1,
            "totalPages": pages,
            "totalElements": total,
            "size": size,
            "number": page,
            "sort": sort,
            "first": page == 0,
            "numberOfElements": len(content),
            "empty": not content,
        }
