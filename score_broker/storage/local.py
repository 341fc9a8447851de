"""The `local` store: objects in a directory, served by the broker itself at signed URLs.

Layout under the store directory:
  objects/<key>              data objects
  state/<key>                state objects (upload specs, part markers, final `.meta` files)
  multipart/<uploadId>/      an unfinished upload: `target` (its key), `data` (parts written at
                             their offsets), `part-<n>` markers holding "<md5> <size>"
  tmp/                       files being written, renamed into place when complete
  secret                     the HMAC key for URLs (mode 0600)

URLs are `<public_url>/storage/<key>?...&Expires=<epoch s>&Signature=<hex>`, an HMAC-SHA256 over
the method, key, upload id, part number, part offset and size or byte range, and expiry. The
`Expires` parameter is the one score-client parses to decide whether a URL is still usable.
"""

from __future__ import annotations

import fcntl
import hashlib
import hmac
import os
import re
import secrets
import shutil
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

from score_broker.errors import (
    BrokerError,
    ChecksumMismatch,
    InvalidRequest,
    NotFound,
    StorageUnavailable,
)
from score_broker.storage.base import Listing, ObjectHead, ObjectStore, StoredPart
from score_broker.storage.keys import key_to_path
from score_broker.storage.running_digest import RunningDigests

HASH_CHUNK = 8 * 1024 * 1024
#: Buffers per pwritev call (the kernel takes at most IOV_MAX, 1024 on Linux).
WRITE_VECTORS = 512
_HEX_SIGNATURE = re.compile(r"[0-9a-f]{64}")
#: A URL's numbers: ASCII digits only (`str.isdigit` accepts "²"), at most 15 of them.
_NUMBER = re.compile(r"[0-9]{1,15}")
_RANGE_FIELD = re.compile(r"([0-9]{1,15})-([0-9]{1,15})")
#: The largest part, offset and byte position a signed URL may name (S3's own limits).
MAX_PART_NUMBER = 10_000
MAX_POSITION = 5 * 1024**4
UPLOAD_ID_ALPHABET = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")


class DataPlaneError(Exception):
    """A refused data-plane request, with the S3 error code and HTTP status to answer."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


@dataclass(frozen=True, slots=True)
class SignedRequest:
    """What a verified URL allows: a part PUT (`part_number` set) or a GET (optional range)."""

    key: str
    upload_id: str | None = None
    part_number: int | None = None
    offset: int | None = None
    size: int | None = None
    byte_range: tuple[int, int] | None = None


def _write_atomically(path: Path, data: bytes, tmp_dir: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = tmp_dir / f"{path.name[:32]}.{secrets.token_hex(8)}"
    with open(tmp, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)


def _read_marker(directory: Path, part_number: int) -> StoredPart | None:
    """A stored part's marker: "<md5> <size> <offset>" (older versions wrote no offset)."""
    try:
        md5, size, *_ = (directory / f"part-{part_number}").read_text().split()
    except (FileNotFoundError, NotADirectoryError, ValueError):
        return None
    return StoredPart(etag=md5, size=int(size))


def _load_secret(path: Path) -> bytes:
    """The URL-signing key, created once with mode 0600."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        os.chmod(path, 0o600)
        return bytes.fromhex(path.read_text().strip())
    with os.fdopen(fd, "w") as handle:
        handle.write(secrets.token_hex(32))
    return bytes.fromhex(path.read_text().strip())


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
            self._secret = _load_secret(root / "secret")
            self._digests = RunningDigests()
        except OSError as error:
            raise StorageUnavailable(f"Cannot use the store directory {root}: {error}.") from error

    # -- signing -------------------------------------------------------------------------------

    def _signature(self, method: str, key: str, fields: Mapping[str, str], expires: int) -> str:
        signed = [f"{name}={fields[name]}" for name in SIGNED_FIELDS if name in fields]
        message = "\n".join([method, key, *signed, str(expires)])
        return hmac.new(self._secret, message.encode(), hashlib.sha256).hexdigest()

    def _url(self, method: str, key: str, fields: dict[str, str], expires_in: int) -> str:
        expires = int(time.time()) + expires_in
        query = {
            **fields,
            "Expires": str(expires),
            "Signature": self._signature(method, key, fields, expires),
        }
        return f"{self.public_url}/storage/{quote(key, safe='/')}?{urlencode(query)}"

    def verify(self, method: str, key: str, params: Mapping[str, str]) -> SignedRequest:
        """Check a data-plane request's signature and expiry; DataPlaneError if refused."""
        signed_method = "PUT" if method == "PUT" else "GET"
        signature = params.get("Signature", "")
        expires_text = params.get("Expires", "")
        if not _HEX_SIGNATURE.fullmatch(signature) or not _NUMBER.fullmatch(expires_text):
            raise DataPlaneError(
                403, "AccessDenied", "The URL has no valid Expires and Signature parameters."
            )
        expires = int(expires_text)
        expected = self._signature(signed_method, key, params, expires)
        if not hmac.compare_digest(expected, signature):
            raise DataPlaneError(
                403,
                "SignatureDoesNotMatch",
                "The URL's signature does not match; ask the broker for a new URL.",
            )
        if time.time() > expires:
            raise DataPlaneError(
                403, "AccessDenied", "The URL has expired; ask the broker for a new one."
            )
        signed = _signed_request(signed_method, key, params)
        if signed is None:
            raise DataPlaneError(403, "AccessDenied", f"This URL does not allow {method} requests.")
        return signed

    def sign_upload_part(
        self, key: str, upload_id: str, part_number: int, offset: int, size: int, expires_in: int
    ) -> str:
        fields = {
            "uploadId": upload_id,
            "partNumber": str(part_number),
            "offset": str(offset),
            "size": str(size),
        }
        return self._url("PUT", key, fields, expires_in)

    def sign_get(self, key: str, expires_in: int, byte_range: tuple[int, int] | None) -> str:
        fields = {"range": f"{byte_range[0]}-{byte_range[1]}"} if byte_range else {}
        return self._url("GET", key, fields, expires_in)

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
        return _read_marker(self._checked_upload_dir(key, upload_id), part_number)

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
                digest = self._publish(completing, key, upload_id, etags, expected_md5)
            except BrokerError:
                os.rename(completing, self._upload_dir(upload_id))
                raise
            shutil.rmtree(completing, ignore_errors=True)
            return digest
        finally:
            lock_path.unlink(missing_ok=True)
            os.close(lock)

    def _publish(
        self, directory: Path, key: str, upload_id: str, etags: list[str], expected: str | None
    ) -> str:
        with open(directory / "data", "rb") as handle:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
            for number, etag in enumerate(etags, start=1):
                stored = _read_marker(directory, number)
                if stored is None or stored.etag != etag:
                    raise InvalidRequest(
                        f"Part {number} of upload {upload_id} is not stored as {etag}; "
                        "upload it again."
                    )
            running = self._digests.take(upload_id)
            markers = dict(enumerate(etags, start=1))
            position, md5 = running.resume(markers) if running else (0, None)
            md5 = md5 or hashlib.md5(usedforsecurity=False)
            while chunk := os.pread(handle.fileno(), HASH_CHUNK, position):
                md5.update(chunk)
                position += len(chunk)
            digest = md5.hexdigest()
            if expected is not None and digest != expected:
                raise ChecksumMismatch(
                    f"The uploaded bytes have MD5 {digest} but the upload declared {expected}; "
                    "the file changed while it was uploaded, or the declared MD5 is wrong."
                )
            os.fsync(handle.fileno())
            target = key_to_path(self.objects, key)
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(directory / "data", target)
        return digest

    def abort_multipart(self, key: str, upload_id: str) -> None:
        self._digests.take(upload_id)
        try:
            directory = self._checked_upload_dir(key, upload_id)
        except NotFound:
            return
        shutil.rmtree(directory, ignore_errors=True)

    def head(self, key: str) -> ObjectHead | None:
        try:
            size = key_to_path(self.objects, key).stat().st_size
        except FileNotFoundError:
            return None
        return ObjectHead(size=size, md5=None)

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


SIGNED_FIELDS = ("uploadId", "partNumber", "offset", "size", "range")


def _number(params: Mapping[str, str], name: str, low: int, high: int) -> int | None:
    text = params.get(name, "")
    if not _NUMBER.fullmatch(text) or not low <= int(text) <= high:
        return None
    return int(text)


def _signed_request(method: str, key: str, params: Mapping[str, str]) -> SignedRequest | None:
    """What a correctly signed URL allows, or None if its fields are missing or out of range
    (the broker never signs such a URL, so it was made with a leaked secret or by a bug)."""
    if method == "GET":
        if "range" not in params:
            return SignedRequest(key=key)
        match = _RANGE_FIELD.fullmatch(params["range"])
        if match is None:
            return None
        first, last = int(match[1]), int(match[2])
        if first > last or last >= MAX_POSITION:
            return None
        return SignedRequest(key=key, byte_range=(first, last))
    part_number = _number(params, "partNumber", 1, MAX_PART_NUMBER)
    offset = _number(params, "offset", 0, MAX_POSITION)
    size = _number(params, "size", 0, MAX_POSITION)
    upload_id = params.get("uploadId", "")
    if part_number is None or offset is None or size is None or not upload_id:
        return None
    if offset + size > MAX_POSITION:
        return None
    return SignedRequest(key, upload_id, part_number, offset, size)


class PartWriter:
    """Writes one part's bytes, hashing as it goes, and records the part once all are there.

    It holds a shared lock on the data file (finalize takes it exclusively) and an exclusive
    lock on the part (two PUTs of one part never interleave). A part's first PUT writes at its
    offset in the upload's data file, and its marker is written last, so a part counts as
    stored only once all its bytes are on disk. A PUT of a part already stored goes to a side
    file first: the stored bytes stay until the new ones have all arrived and passed their
    checks (as on S3, a complete PUT then replaces the part; the same bytes again change
    nothing). Finalize refuses a finished part whose bytes were replaced since.
    """

    def __init__(
        self,
        directory: Path,
        part_number: int,
        offset: int,
        stored: Callable[[int, int, int], None],
    ) -> None:
        self._directory = directory
        self._number = part_number
        self._offset = offset
        self._stored = stored
        self._marker = directory / f"part-{part_number}"
        self._fds: list[int] = []
        self._side: Path | None = None
        try:
            part_lock = os.open(directory / f"part-{part_number}.lock", os.O_RDWR | os.O_CREAT)
            self._fds.append(part_lock)
            self._lock(part_lock, fcntl.LOCK_EX, "Another upload of this part is in progress")
            self._data = os.open(directory / "data", os.O_WRONLY)
            self._fds.append(self._data)
            self._lock(self._data, fcntl.LOCK_SH, "The upload is being finalized")
            self._previous = _read_marker(directory, part_number)
            self._fd, self._position = self._data, offset
            if self._previous is not None:
                self._side = directory / f"part-{part_number}.incoming"
                self._fd = os.open(self._side, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
                self._fds.append(self._fd)
                self._position = 0
        except FileNotFoundError:
            self.discard()
            raise DataPlaneError(404, "NoSuchUpload", "The upload does not exist.") from None
        except DataPlaneError:
            self.discard()
            raise
        self._written = 0
        self._md5 = hashlib.md5(usedforsecurity=False)

    @staticmethod
    def _lock(fd: int, mode: int, busy: str) -> None:
        try:
            fcntl.flock(fd, mode | fcntl.LOCK_NB)
        except BlockingIOError:
            raise DataPlaneError(503, "SlowDown", f"{busy}; retry shortly.") from None

    def write(self, chunks: list[bytes]) -> None:
        """Write the next bytes of the part (as received, without joining them first)."""
        for chunk in chunks:
            self._md5.update(chunk)
        buffers = [memoryview(chunk) for chunk in chunks]
        while buffers:
            count = os.pwritev(self._fd, buffers[:WRITE_VECTORS], self._position)
            self._position += count
            self._written += count
            while buffers and count >= len(buffers[0]):
                count -= len(buffers[0])
                buffers.pop(0)
            if buffers and count:
                buffers[0] = buffers[0][count:]

    @property
    def written(self) -> int:
        return self._written

    def hexdigest(self) -> str:
        return self._md5.hexdigest()

    def commit(self) -> str:
        """Record the part as stored; returns its ETag (the hex MD5)."""
        digest = self._md5.hexdigest()
        try:
            previous = self._previous
            if previous is not None and (previous.etag, previous.size) == (digest, self._written):
                return digest  # the same bytes again: nothing changes
            if previous is not None:
                self._copy_side_file()
            tmp = self._marker.with_name(f".{self._marker.name}.{secrets.token_hex(4)}")
            tmp.write_text(f"{digest} {self._written} {self._offset}")
            os.replace(tmp, self._marker)
            self._stored(self._number, self._offset, self._written)
        except FileNotFoundError:
            raise DataPlaneError(
                409, "NoSuchUpload", "The upload was finalized or aborted during this PUT."
            ) from None
        finally:
            self.discard()
        return digest

    def _copy_side_file(self) -> None:
        """Put the new bytes, all received and checked, over the stored part."""
        assert self._side is not None
        self._marker.unlink(missing_ok=True)
        with open(self._side, "rb") as side:
            position = 0
            while chunk := side.read(HASH_CHUNK):
                os.pwrite(self._data, chunk, self._offset + position)
                position += len(chunk)

    def discard(self) -> None:
        """Close the files, release the locks and drop any side file."""
        for fd in self._fds:
            os.close(fd)
        self._fds.clear()
        if self._side is not None:
            self._side.unlink(missing_ok=True)
            self._side = None
