"""The `local` store: objects in a directory, served by the broker itself at signed URLs.

Layout under the store directory:
  objects/<key>              data objects
  state/<key>                state objects (upload specs, part markers, final `.meta` files)
  multipart/<uploadId>/      an unfinished upload: `target` (its key), `data` (parts written at
                             their offsets), `part-<n>` markers holding "<md5> <size>"
  tmp/                       files being written, renamed into place when complete
  secret                     the HMAC key for URLs (mode 0600)

The broker serves the data plane itself (`api/dataplane.py`) at URLs signed by `local_urls`;
part PUTs are written by `local_parts`, and finalize assembles the object with `local_assembly`.
"""

from __future__ import annotations

import fcntl
import os
import secrets
import shutil
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from score_broker.errors import BrokerError, DataPlaneError, NotFound, StorageUnavailable
from score_broker.storage.base import Listing, ObjectHead, ObjectStore, StoredObject, StoredPart
from score_broker.storage.keys import key_to_path
from score_broker.storage.local_assembly import assemble
from score_broker.storage.local_parts import PartWriter, read_marker
from score_broker.storage.local_urls import SignedRequest, UrlSigner, load_secret
from score_broker.storage.running_digest import RunningDigests

UPLOAD_ID_ALPHABET = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")


def _write_atomically(path: Path, data: bytes, tmp_dir: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = tmp_dir / f"{path.name[:32]}.{secrets.token_hex(8)}"
    with open(tmp, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)


class LocalStore(ObjectStore):
    """Data and state as files under one directory; the data plane is served by the broker."""

    def __init__(self, root: Path, public_url: str) -> None:
        self.root = root
        self.public_url = public_url.rstrip("/")
        self.objects = root / "objects"
        self.state = root / "state"
        self.multipart = root / "multipart"
        self.tmp = root / "tmp"
        try:
            for directory in (self.objects, self.state, self.multipart, self.tmp):
                directory.mkdir(parents=True, exist_ok=True)
            os.chmod(root, 0o700)
            self._urls = UrlSigner(load_secret(root / "secret"), self.public_url)
            self._digests = RunningDigests()
        except OSError as error:
            raise StorageUnavailable(f"Cannot use the store directory {root}: {error}.") from error

    # -- signing -------------------------------------------------------------------------------

    def verify(self, method: str, key: str, params: Mapping[str, str]) -> SignedRequest:
        """Check a data-plane request's signature and expiry; DataPlaneError if refused."""
        return self._urls.verify(method, key, params)

    def sign_upload_part(
        self, key: str, upload_id: str, part_number: int, offset: int, size: int, expires_in: int
    ) -> str:
        fields = {
            "uploadId": upload_id,
            "partNumber": str(part_number),
            "offset": str(offset),
            "size": str(size),
        }
        return self._urls.url("PUT", key, fields, expires_in)

    def sign_get(self, key: str, expires_in: int, byte_range: tuple[int, int] | None) -> str:
        fields = {"range": f"{byte_range[0]}-{byte_range[1]}"} if byte_range else {}
        return self._urls.url("GET", key, fields, expires_in)

    # -- data objects --------------------------------------------------------------------------

    def check(self) -> dict[str, Any]:
        if not os.access(self.objects, os.W_OK) or not os.access(self.state, os.W_OK):
            raise StorageUnavailable(f"The store directory {self.root} is not writable.")
        usage = shutil.disk_usage(self.root)
        return {"directory": str(self.root), "freeBytes": usage.free}

    def object_path(self, key: str) -> Path:
        return key_to_path(self.objects, key)

    def _upload_dir(self, upload_id: str, suffix: str = "") -> Path:
        if not upload_id or len(upload_id) > 64 or not set(upload_id) <= UPLOAD_ID_ALPHABET:
            raise NotFound(f"Upload {upload_id!r} does not exist.")
        return self.multipart / f"{upload_id}{suffix}"

    def _checked_upload_dir(self, key: str, upload_id: str, suffix: str = "") -> Path:
        directory = self._upload_dir(upload_id, suffix)
        try:
            target = (directory / "target").read_text()
        except (FileNotFoundError, NotADirectoryError):
            raise NotFound(f"Upload {upload_id!r} does not exist.") from None
        if target != key:
            raise NotFound(f"Upload {upload_id!r} is not an upload of {key}.")
        return directory

    def create_multipart(self, key: str) -> str:
        key_to_path(self.objects, key)
        upload_id = secrets.token_urlsafe(18)
        directory = self.multipart / upload_id
        directory.mkdir()
        (directory / "data").touch()
        (directory / "target").write_text(key)
        return upload_id

    def part_writer(self, signed: SignedRequest) -> PartWriter:
        """A writer for the bytes of a signed part PUT (the data plane calls it)."""
        upload_id = signed.upload_id
        assert upload_id is not None
        assert signed.part_number is not None
        try:
            directory = self._checked_upload_dir(signed.key, upload_id)
        except NotFound as error:
            raise DataPlaneError(404, "NoSuchUpload", str(error)) from None

        def stored(number: int, offset: int, size: int) -> None:
            self._digests.stored(directory, upload_id, number, offset, size)

        return PartWriter(directory, signed.part_number, signed.offset or 0, stored)

    def get_part(self, key: str, upload_id: str, part_number: int) -> StoredPart | None:
        return read_marker(self._checked_upload_dir(key, upload_id), part_number)

    def complete_multipart(
        self, key: str, upload_id: str, etags: list[str], expected_md5: str | None
    ) -> str | None:
        """Publish the upload's data file at `key`, with no part writer able to touch it.

        The upload directory is renamed aside first (new part PUTs then find no upload), and
        an exclusive lock on the data file waits for the PUTs already writing (they hold shared
        locks). If anything is wrong, the directory is put back and the upload goes on.
        """
        lock_path = self._upload_dir(upload_id, ".lock")
        lock = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(lock)
            raise StorageUnavailable(
                f"Upload {upload_id} is being finalized by another request; retry shortly."
            ) from None
        try:
            completing = self._upload_dir(upload_id, ".completing")
            if not completing.is_dir():
                os.rename(self._checked_upload_dir(key, upload_id), completing)
            self._checked_upload_dir(key, upload_id, ".completing")
            try:
                running = self._digests.take(upload_id)
                target = key_to_path(self.objects, key)
                digest = assemble(completing, target, etags, expected_md5, running)
            except BrokerError:
                os.rename(completing, self._upload_dir(upload_id))
                raise
            shutil.rmtree(completing, ignore_errors=True)
            return digest
        finally:
            lock_path.unlink(missing_ok=True)
            os.close(lock)

    def abort_multipart(self, key: str, upload_id: str) -> None:
        self._digests.take(upload_id)
        try:
            directory = self._checked_upload_dir(key, upload_id)
        except NotFound:
            return
        shutil.rmtree(directory, ignore_errors=True)

    def head(self, key: str) -> ObjectHead | None:
        try:
            stat = key_to_path(self.objects, key).stat()
        except FileNotFoundError:
            return None
        modified = datetime.fromtimestamp(stat.st_mtime, UTC)
        return ObjectHead(size=stat.st_size, md5=None, modified=modified)

    def read_range(self, key: str, start: int, end: int) -> bytes:
        try:
            with key_to_path(self.objects, key).open("rb") as handle:
                handle.seek(start)
                return handle.read(max(0, end - start))
        except (FileNotFoundError, NotADirectoryError):
            raise NotFound(f"Object {key} does not exist in the store.") from None

    def list_objects(self, prefix: str) -> Iterator[StoredObject]:
        base = len(str(self.objects)) + 1
        for directory, _, names in os.walk(self.objects):
            for name in sorted(names):
                path = os.path.join(directory, name)
                key = path[base:]
                if key.startswith(prefix):
                    stat = os.stat(path)
                    yield StoredObject(key, stat.st_size, int(stat.st_mtime * 1000))

    def put_object(self, key: str, data: bytes) -> None:
        _write_atomically(key_to_path(self.objects, key), data, self.tmp)

    # -- state objects -------------------------------------------------------------------------

    def put_state(self, key: str, data: bytes) -> None:
        _write_atomically(key_to_path(self.state, key), data, self.tmp)

    def get_state(self, key: str) -> bytes | None:
        try:
            return key_to_path(self.state, key).read_bytes()
        except (FileNotFoundError, NotADirectoryError):
            return None

    def state_exists(self, key: str) -> bool:
        return key_to_path(self.state, key).is_file()

    def list_state(self, prefix: str, delimiter: str | None = None) -> Listing:
        directory_part, _, name_prefix = prefix.rpartition("/")
        base = key_to_path(self.state, directory_part) if directory_part else self.state
        lead = f"{directory_part}/" if directory_part else ""
        keys: list[str] = []
        prefixes: list[str] = []
        try:
            # Names only, filtered before anything else: a directory may hold thousands.
            names = sorted(name for name in os.listdir(base) if name.startswith(name_prefix))
        except (FileNotFoundError, NotADirectoryError):
            return Listing(keys, prefixes)
        for name in names:
            if os.path.isdir(os.path.join(base, name)):
                if delimiter == "/":
                    prefixes.append(f"{lead}{name}/")
                else:
                    keys.extend(self.list_state(f"{lead}{name}/").keys)
            else:
                keys.append(f"{lead}{name}")
        return Listing(keys, prefixes)

    def delete_state(self, keys: list[str]) -> None:
        for key in keys:
            path = key_to_path(self.state, key)
            path.unlink(missing_ok=True)
            self._prune_empty_parents(path.parent)

    def _prune_empty_parents(self, directory: Path) -> None:
        while directory != self.state:
            try:
                directory.rmdir()
            except OSError:
                return
            directory = directory.parent
