"""Names the client checks and matches: object ids, and index files beside their data files."""

from __future__ import annotations

import uuid

from score_tui.client.models import Entity
from score_tui.index_names import INDEX_SUFFIXES, pick_index


def is_uuid(text: str) -> bool:
    try:
        uuid.UUID(text)
    except ValueError:
        return False
    return True


def object_id_from(text: str) -> str | None:
    """The object id in `text`: a UUID, or a GA4GH DRS URI `drs://<host>/<uuid>` (as the
    broker's DRS service names its objects); None if it is neither."""
    text = text.strip()
    if text[:6].lower() == "drs://":
        host, _, rest = text[6:].partition("/")
        text = rest if host and "/" not in rest else ""
    return text if is_uuid(text) else None


def index_of(entity: Entity, siblings: list[Entity]) -> Entity | None:
    """The index file of `entity` in its analysis: `<name>.bai|.crai|.tbi|.csi|.idx`, or
    `<stem>.bai|.crai` (`x.bam` -> `x.bai`), compared case-insensitively."""
    others = {s.file_name.lower(): s for s in siblings if s.id != entity.id}
    return pick_index(entity.file_name, others)


def is_index(entity: Entity) -> bool:
    return entity.file_name.lower().endswith(INDEX_SUFFIXES)
