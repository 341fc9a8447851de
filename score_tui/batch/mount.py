"""`mount`: the broker's objects as a read-only FUSE file system, as score-client mounts them.

Names follow score-client's layouts: `bundle` puts each file in its analysis' directory under
the name Song gives it (`/<analysis id>/<file name>`), `object-id` lists the objects flat by id.
Reads are ranged GETs on each object's whole-object URL (fetched again when it expires), in
blocks kept in a bounded cache, with read-ahead for the sequential reads tools make; so samtools
and IGV can open a BAM in place without the rest of it coming over.
"""

from __future__ import annotations

import asyncio
import errno
import hashlib
import json
import os
import stat
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import httpx
from cachetools import LRUCache

from score_tui.client.errors import TransferError
from score_tui.client.score import USER_AGENT, ScoreApi
from score_tui.client.song import SongApi
from score_tui.client.tls import tls_context
from score_tui.config import Settings, state_dir
from score_tui.errors import ScoreTuiError
from score_tui.planning.layout import safe_name
from score_tui.planning.manifests import download_object_ids, read_manifest

BLOCK = 1024 * 1024
#: Blocks fetched together on a miss: the next reads of a sequential reader are then there.
READ_AHEAD = 4
#: Blocks kept in memory (of all files together).
CACHED_BLOCKS = 128
LAYOUTS = ("bundle", "object-id")


class MountError(ScoreTuiError):
    """The file system cannot be mounted; the message says why and what to do."""


@dataclass(frozen=True, slots=True)
class MountedFile:
    path: str
    object_id: str
    size: int


def file_path(layout: str, object_id: str, analysis_id: str, file_name: str) -> str:
    """Where an object appears: score-client's `bundle` or `object-id` layout."""
    if layout == "object-id":
        return f"/{object_id}"
    where = f"object {object_id}"
    return f"/{safe_name(analysis_id, where)}/{safe_name(file_name, where)}"


async def resolve(settings: Settings, manifest: str | None, layout: str) -> list[MountedFile]:
    """The objects to show (the manifest's, else every object the broker lists), their sizes
    from the broker's listing and their names from Song."""
    async with ScoreApi(settings.server_url, settings.token, ca_file=settings.ca_file) as api:
        listed = {item["id"]: int(item["size"]) for item in await api.listing()}
    wanted = list(listed)
    if manifest:
        wanted = [
            i
            for i in download_object_ids(read_manifest(manifest, settings.ca_file), manifest)
            if i in listed
        ]
    if layout == "object-id":
        return [MountedFile(file_path(layout, i, "", ""), i, listed[i]) for i in wanted]
    files = []
    song = SongApi(settings.metadata_url, settings.token, ca_file=settings.ca_file)
    try:
        for object_id in wanted:
            entity = await song.entity(object_id)
            path = file_path(layout, object_id, entity.gnos_id, entity.file_name)
            files.append(MountedFile(path, object_id, listed[object_id]))
    finally:
        await song.aclose()
    return files


def _cache_file(settings: Settings, manifest: str | None, layout: str) -> Path:
    key = hashlib.sha256(f"{settings.server_url}\n{manifest}\n{layout}".encode()).hexdigest()
    return state_dir() / "mount-metadata" / f"{key[:24]}.json"


def mounted_files(
    settings: Settings, manifest: str | None, layout: str, cache: bool
) -> list[MountedFile]:
    """`resolve`, or with `cache` what an earlier mount resolved (written if not there)."""
    path = _cache_file(settings, manifest, layout)
    if cache and path.is_file():
        return [MountedFile(**item) for item in json.loads(path.read_text())]
    files = asyncio.run(resolve(settings, manifest, layout))
    if cache:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps([asdict(f) for f in files]))
    return files


class ObjectReader:
    """Ranged reads of objects through their whole-object URLs, block by block."""

    def __init__(self, server_url: str, token: str | None, ca_file: str | None = None) -> None:
        headers = {"User-Agent": USER_AGENT}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        self.server_url = server_url.rstrip("/")
        trusted = tls_context(ca_file)  # the store's URLs may be HTTPS when the broker's is not
        self._broker = httpx.Client(headers=headers, timeout=60, verify=trusted)
        self._store = httpx.Client(timeout=60, verify=trusted)
        self._urls: dict[str, str] = {}
        self._blocks: LRUCache[tuple[str, int], bytes] = LRUCache(CACHED_BLOCKS)
        self._lock = threading.Lock()

    def _url(self, object_id: str, fresh: bool = False) -> str:
        with self._lock:
            known = None if fresh else self._urls.get(object_id)
        if known is not None:
            return known
        response = self._broker.get(
            f"{self.server_url}/download/{object_id}",
            params={"offset": 0, "length": -1, "external": "true"},
        )
        if response.status_code != 200:
            raise TransferError(f"the broker answered {response.status_code} for {object_id}")
        url = str(response.json()["parts"][0]["url"])
        with self._lock:
            self._urls[object_id] = url
        return url

    def _fetch(self, file: MountedFile, first: int, count: int) -> None:
        """Blocks [first, first + count) of the file into the cache (one ranged GET)."""
        start = first * BLOCK
        end = min((first + count) * BLOCK, file.size) - 1
        headers = {"Range": f"bytes={start}-{end}"}
        response = self._store.get(self._url(file.object_id), headers=headers)
        if response.status_code in (401, 403):  # the URL expired: ask for a fresh one
            fresh = self._url(file.object_id, fresh=True)
            response = self._store.get(fresh, headers=headers)
        if response.status_code not in (200, 206) or len(response.content) != end - start + 1:
            raise TransferError(f"the store answered {response.status_code} for {file.path}")
        with self._lock:
            for number in range(first, first + count):
                at = (number - first) * BLOCK
                self._blocks[(file.object_id, number)] = response.content[at : at + BLOCK]

    def read(self, file: MountedFile, offset: int, size: int) -> bytes:
        end = min(offset + size, file.size)
        if offset >= end:
            return b""
        pieces = []
        for number in range(offset // BLOCK, (end - 1) // BLOCK + 1):
            with self._lock:
                block = self._blocks.get((file.object_id, number))
            if block is None:
                last = (file.size - 1) // BLOCK
                self._fetch(file, number, min(READ_AHEAD, last - number + 1))
                with self._lock:
                    block = self._blocks[(file.object_id, number)]
            pieces.append(block)
        data = b"".join(pieces)
        skip = offset - (offset // BLOCK) * BLOCK
        return data[skip : skip + end - offset]


def _operations(files: list[MountedFile], reader: ObjectReader) -> Any:
    """The FUSE operations over the files (mfusepy loads libfuse when first imported)."""
    import mfusepy

    by_path = {f.path: f for f in files}
    directories: dict[str, set[str]] = {"/": set()}
    for path in by_path:
        parent, _, name = path.rpartition("/")
        directories.setdefault(parent or "/", set()).add(name)
        if parent:
            directories["/"].add(parent.lstrip("/"))
    mounted_at = time.time()

    class ScoreFileSystem(mfusepy.Operations):  # type: ignore[misc]
        def getattr(self, path: str, fh: int | None = None) -> dict[str, Any]:
            times = {"st_atime": mounted_at, "st_mtime": mounted_at, "st_ctime": mounted_at}
            if path in directories:
                return {"st_mode": stat.S_IFDIR | 0o555, "st_nlink": 2, **times}
            file = by_path.get(path)
            if file is None:
                raise mfusepy.FuseOSError(errno.ENOENT)
            return {"st_mode": stat.S_IFREG | 0o444, "st_nlink": 1, "st_size": file.size, **times}

        def readdir(self, path: str, fh: int) -> list[str]:
            return [".", "..", *sorted(directories.get(path, ()))]

        def open(self, path: str, flags: int) -> int:
            if path not in by_path:
                raise mfusepy.FuseOSError(errno.ENOENT)
            if flags & (os.O_WRONLY | os.O_RDWR):
                raise mfusepy.FuseOSError(errno.EROFS)
            return 0

        def read(self, path: str, size: int, offset: int, fh: int) -> bytes:
            try:
                return reader.read(by_path[path], offset, size)
            except (TransferError, httpx.HTTPError):
                raise mfusepy.FuseOSError(errno.EIO) from None

    return ScoreFileSystem()


def parse_options(text: str | None) -> dict[str, Any]:
    """`a,b=c` as FUSE mount options: {a: True, b: "c"}."""
    options: dict[str, Any] = {}
    for item in (text or "").split(","):
        name, equals, value = item.strip().partition("=")
        if name:
            options[name] = value if equals else True
    return options


def mount(
    settings: Settings,
    mount_point: Path,
    files: list[MountedFile],
    daemonize: bool,
    options: dict[str, Any],
) -> None:
    """Mount and serve until unmounted (`umount`, or Ctrl-C in the foreground)."""
    if not mount_point.is_dir() or any(mount_point.iterdir()):
        raise MountError(f"cannot mount at {mount_point}: it must be an empty directory")
    if not os.path.exists("/dev/fuse"):
        raise MountError("cannot mount: this system has no /dev/fuse (FUSE is not available)")
    try:
        import mfusepy
    except (ImportError, OSError) as error:
        raise MountError(
            f"cannot mount: libfuse cannot be loaded ({error}); install fuse3 "
            "(apt-get install fuse3)"
        ) from None
    operations = _operations(
        files, ObjectReader(settings.server_url, settings.token, settings.ca_file)
    )
    chosen = {"fsname": "score", **options, "ro": True}  # the user's options, read-only always
    try:
        mfusepy.FUSE(operations, str(mount_point), foreground=not daemonize, **chosen)
    except RuntimeError as error:
        raise MountError(
            f"cannot mount at {mount_point} ({error}); FUSE needs /dev/fuse and fusermount, "
            "and, for another user, the allow_other option"
        ) from None
