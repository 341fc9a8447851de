"""score-client's manifests (contract 8.3): tab-separated, first line skipped, cells trimmed."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import httpx

from score_tui.client.naming import is_uuid, object_id_from
from score_tui.client.tls import refusal_message, tls_context
from score_tui.errors import ScoreTuiError

UPLOAD_COLUMNS = ("object_id", "file_path", "md5")
DOWNLOAD_COLUMNS = 11
MD5 = re.compile(r"^[0-9a-fA-F]{32}$")


class ManifestError(ScoreTuiError):
    """A manifest that cannot be used; the message names the line and what is wrong."""


@dataclass(frozen=True, slots=True)
class UploadEntry:
    object_id: str
    path: Path
    md5: str


def read_manifest(source: str, ca_file: str | None = None) -> str:
    """A manifest's text from a path or an http(s) URL (HTTPS trusting the system's
    certificates and `ca_file`)."""
    if source.startswith(("http://", "https://")):
        try:
            verify = tls_context(ca_file)  # a redirect may lead to HTTPS
            response = httpx.get(source, timeout=60, follow_redirects=True, verify=verify)
        except httpx.HTTPError as exc:
            if message := refusal_message(exc, source):
                raise ManifestError(message) from None
            raise ManifestError(f"cannot fetch the manifest {source}: {exc}") from None
        if response.status_code != 200:
            raise ManifestError(f"cannot fetch the manifest {source}: HTTP {response.status_code}")
        return response.text
    if ".xml" in source:
        raise ManifestError(f"{source}: GNOS XML manifests are not supported")
    path = Path(source)
    if not path.exists() and is_uuid(source):
        raise ManifestError(
            f"{source} looks like a portal manifest id; portal manifests are not supported, "
            "give a manifest file or URL"
        )
    try:
        return path.read_text()
    except FileNotFoundError:
        raise ManifestError(f"the manifest {source} does not exist") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ManifestError(f"cannot read the manifest {source}: {exc}") from None


def _rows(text: str, source: str) -> list[tuple[int, list[str]]]:
    rows = []
    for number, line in enumerate(text.splitlines()[1:], start=2):
        if line.strip():
            rows.append((number, [cell.strip() for cell in line.split("\t")]))
    if not rows:
        raise ManifestError(f"{source}: the manifest lists no files (its first line is a header)")
    return rows


def upload_entries(text: str, source: str, base: Path) -> list[UploadEntry]:
    """The 3-column upload manifest Song's client writes: object_id, file_path, md5."""
    entries = []
    for number, cells in _rows(text, source):
        if len(cells) != len(UPLOAD_COLUMNS):
            raise ManifestError(
                f"{source} line {number}: expected 3 tab-separated columns "
                f"(object_id, file_path, md5), found {len(cells)}"
            )
        object_id, file_path, md5 = cells
        if not is_uuid(object_id):
            raise ManifestError(f"{source} line {number}: {object_id!r} is not a valid UUID")
        if not MD5.match(md5):
            raise ManifestError(f"{source} line {number}: {md5!r} is not an MD5 (32 hex digits)")
        path = Path(file_path)
        if not path.is_absolute():
            path = Path.cwd() / path if (Path.cwd() / path).exists() else base / path
        entries.append(UploadEntry(object_id, path, md5.lower()))
    return entries


#: Names the ICGC and ARGO portals give the object id column of their manifests.
OBJECT_ID_HEADERS = ("object_id", "objectid", "object id")


def _object_id_column(text: str) -> int | None:
    """The object id column named in the header, as the portals' manifests name it."""
    header = text.splitlines()[0] if text.strip() else ""
    names = [cell.strip().strip('"').lower().replace("-", "_") for cell in header.split("\t")]
    return next((i for i, name in enumerate(names) if name in OBJECT_ID_HEADERS), None)


def download_object_ids(text: str, source: str) -> list[str]:
    """Object ids of a download manifest: a portal's (ICGC, ARGO), by its `object_id` column;
    else score-client's 11 columns (the third) or Song's 3 (the first)."""
    column = _object_id_column(text)
    ids = []
    for number, cells in _rows(text, source):
        if column is not None:
            if len(cells) <= column:
                raise ManifestError(f"{source} line {number}: no object_id column on this line")
            object_id = cells[column]
        elif len(cells) == DOWNLOAD_COLUMNS:
            object_id = cells[2]
        elif len(cells) == len(UPLOAD_COLUMNS):
            object_id = cells[0]
        else:
            raise ManifestError(
                f"{source} line {number}: expected 11 tab-separated columns "
                f"(repo_code, file_id, object_id, ...), found {len(cells)}"
            )
        found = object_id_from(object_id)
        if found is None:
            raise ManifestError(
                f"{source} line {number}: {object_id!r} is not a valid UUID or DRS URI"
            )
        ids.append(found)
    return ids
