"""Where a download lands: score-client's output layouts, with file names checked for tricks."""

from __future__ import annotations

from pathlib import Path

from score_tui.client.errors import TransferError
from score_tui.client.models import Entity

LAYOUTS = ("filename", "bundle", "id")
INDEX_SUFFIXES = (".bai", ".crai", ".tbi", ".csi", ".idx")


def safe_name(name: str, what: str) -> str:
    """A file or directory name from Song, refused if it could leave the output directory."""
    if not name or name in (".", "..") or "/" in name or "\\" in name or "\0" in name:
        raise TransferError(f"Song gives {what} the unsafe name {name!r}; not downloading it")
    return name


def target_path(output_dir: Path, layout: str, object_id: str, entity: Entity | None) -> Path:
    if layout == "id" or entity is None:
        return output_dir / object_id
    name = safe_name(entity.file_name, f"object {object_id}")
    if layout == "bundle":
        return output_dir / safe_name(entity.gnos_id, f"the analysis of {object_id}") / name
    return output_dir / name


def index_of(entity: Entity, siblings: list[Entity]) -> Entity | None:
    """The index file of `entity` in its analysis: `<name>.bai|.crai|.tbi|.csi|.idx`, or
    `<stem>.bai|.crai` (`x.bam` -> `x.bai`), compared case-insensitively."""
    name = entity.file_name.lower()
    stem = name.rsplit(".", 1)[0]
    wanted = [name + suffix for suffix in INDEX_SUFFIXES] + [stem + ".bai", stem + ".crai"]
    by_name = {s.file_name.lower(): s for s in siblings if s.id != entity.id}
    for candidate in wanted:
        if candidate in by_name:
            return by_name[candidate]
    return None


def is_index(entity: Entity) -> bool:
    return entity.file_name.lower().endswith(INDEX_SUFFIXES)
