"""Where a download lands: score-client's output layouts, with file names checked for tricks."""

from __future__ import annotations

from pathlib import Path

from score_tui.client.errors import TransferError
from score_tui.client.models import Entity

LAYOUTS = ("filename", "bundle", "id")


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
