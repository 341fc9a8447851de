"""The interface every object store implements.

A store holds data objects (multipart uploads, pre-signed part URLs, ranged GET URLs) and small
state objects (upload specs and part markers). Keeping upload state in the store, not in the
broker, is what lets any number of broker replicas serve one store.
"""

from __future__ import annotations

import functools
import inspect
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from score_broker import metrics
from score_broker.errors import BrokerError, NotFound, StorageUnavailable

#: The store calls whose failures `score_broker_store_errors_total` counts, by these names.
COUNTED_OPERATIONS = (
    "check", "check_for_ping", "create_multipart", "get_part", "complete_multipart",
    "abort_multipart", "head", "list_objects", "read_range", "put_object", "put_state",
    "get_state", "state_exists", "list_state", "delete_state",
)  # fmt: skip


def store_failure(what: str, status: int | None, detail: str, busy: bool = False) -> BrokerError:
    """The broker's error for a failed call to a store: `status` None when the store could not
    be reached; `busy` when the store asked to slow down (both worth a retry, 503)."""
    if status is None:
        return StorageUnavailable(f"{what}: cannot reach the object store ({detail}).")
    if status == 404:
        return NotFound(f"{what}: not found in the object store ({detail}).")
    if status >= 500 or busy:
        return StorageUnavailable(f"{what}: the object store failed ({detail}).")
    return BrokerError(f"{what}: the object store refused the request ({detail}).")


def check_each(kind: str, names: Iterable[str], exists: Callable[[str], bool]) -> None:
    """Every bucket or container must answer and exist; StorageUnavailable names the first
    that does not."""
    for name in dict.fromkeys(names):
        try:
            found = exists(name)
        except NotFound:
            found = False
        except BrokerError as error:
            raise StorageUnavailable(str(error)) from error
        if not found:
            raise StorageUnavailable(f"{kind} {name} does not exist.")


def _count_failure(operation: str, error: BaseException) -> None:
    """A failed store call, counted once: answers (NotFound, a checksum mismatch: statuses
    under 500) are not failures, and a call inside another counts only the innermost."""
    if isinstance(error, BrokerError) and error.status < 500:
        return
    if not getattr(error, "counted_as_store_error", False):
        metrics.store_failed(operation)
        error.counted_as_store_error = True  # type: ignore[attr-defined]


def _counting(operation: str, method: Callable[..., Any]) -> Callable[..., Any]:
    """`method`, with its failures counted under `operation`."""
    if inspect.isgeneratorfunction(method):

        @functools.wraps(method)
        def listing(*args: Any, **kwargs: Any) -> Iterator[Any]:
            try:
                yield from method(*args, **kwargs)
            except Exception as error:
                _count_failure(operation, error)
                raise

        return listing

    @functools.wraps(method)
    def call(*args: Any, **kwargs: Any) -> Any:
        try:
            return method(*args, **kwargs)
        except Exception as error:
            _count_failure(operation, error)
            raise

    return call


@dataclass(frozen=True, slots=True)
class ObjectHead:
    """Size and, where the store records them, the hex MD5, the ETag and the time of the last
    write of a data object."""

    size: int
    md5: str | None
    etag: str | None = None
    modified: datetime | None = None


@dataclass(frozen=True, slots=True)
class StoredPart:
    """A part the store holds for a multipart upload."""

    etag: str
    size: int


@dataclass(frozen=True, slots=True)
class StoredObject:
    """A data object as a listing gives it: key, size and last change (epoch milliseconds)."""

    key: str
    size: int
    last_modified: int


@dataclass(frozen=True, slots=True)
class Listing:
    """State keys under a prefix, and the common prefixes when a delimiter is given."""

    keys: list[str]
    prefixes: list[str]


class ObjectStore(ABC):
    """Data objects plus small state objects, in one storage system."""

    #: What `GET /profile` answers: `s3` for the S3-shaped upload flow.
    profile: str = "s3"
    #: Whether a part's ETag is the hex MD5 of its bytes (true for S3 without KMS, and local).
    part_etag_is_md5: bool = True
    #: Whether the store reports a part's ETag, to hold against the one the client saw (Azure
    #: blocks have none: their Content-MD5 is checked by Azure as they arrive).
    reports_part_etags: bool = True
    #: Whether `get_part` fails (NotFound) once an upload is aborted or completed, and a part's
    #: ETag changes with its bytes (S3 multipart uploads, the local store): a part can then be
    #: finished without re-reading the upload's spec or listing its markers first.
    tracks_uploads: bool = True
    #: Whether an upload is one PUT of the whole object to `sign_object_upload`'s URL, as on
    #: Score's Azure backend (one part; finish-part records nothing; finalize finds the object).
    whole_object_uploads: bool = False

    def __init_subclass__(cls, **kwargs: Any) -> None:
        """Each backend's store calls count their failures, whichever backend it is."""
        super().__init_subclass__(**kwargs)
        for name in COUNTED_OPERATIONS:
            if name in vars(cls):
                setattr(cls, name, _counting(name, vars(cls)[name]))

    @abstractmethod
    def check(self) -> dict[str, Any]:
        """Details of a successful reachability check; raises StorageUnavailable otherwise."""

    def check_for_ping(self) -> None:
        """What `/download/ping` checks before it hands out the sentinel's URL: by default
        nothing (the client's GET of the URL proves the store answers)."""
        return

    @abstractmethod
    def create_multipart(self, key: str) -> str:
        """Start a multipart upload of `key`; return its upload id."""

    @abstractmethod
    def sign_upload_part(
        self, key: str, upload_id: str, part_number: int, offset: int, size: int, expires_in: int
    ) -> str:
        """A URL on which the client PUTs the `size` bytes of part `part_number` (at `offset`)."""

    def sign_object_upload(self, key: str, expires_in: int) -> str:
        """A URL to write the whole object `key` (stores with `whole_object_uploads`)."""
        raise NotImplementedError

    @abstractmethod
    def get_part(self, key: str, upload_id: str, part_number: int) -> StoredPart | None:
        """The part as stored, None if it was never uploaded; NotFound if the upload is unknown."""

    @abstractmethod
    def complete_multipart(
        self, key: str, upload_id: str, etags: list[str], expected_md5: str | None
    ) -> str | None:
        """Assemble the parts, in order, into `key`.

        Returns the whole-object MD5 when the store computes it (and then refuses, with
        ChecksumMismatch, to publish an object whose MD5 differs from `expected_md5`).
        """

    @abstractmethod
    def abort_multipart(self, key: str, upload_id: str) -> None:
        """Drop an unfinished multipart upload and its parts; no error if it is already gone."""

    @abstractmethod
    def head(self, key: str) -> ObjectHead | None:
        """Size and MD5 of a data object, None if it does not exist."""

    @abstractmethod
    def list_objects(self, prefix: str) -> Iterator[StoredObject]:
        """Every data object under `prefix` (every bucket of a pool), page by page."""

    @abstractmethod
    def read_range(self, key: str, start: int, end: int) -> bytes:
        """Bytes [start, end) of a data object (an index, a header), read by the broker itself."""

    @abstractmethod
    def put_object(self, key: str, data: bytes) -> None:
        """Write a small data object in one request (the sentinel)."""

    @abstractmethod
    def sign_get(self, key: str, expires_in: int, byte_range: tuple[int, int] | None) -> str:
        """A GET URL for `key`: bound to the inclusive `byte_range`, or to any range if None."""

    @abstractmethod
    def put_state(self, key: str, data: bytes) -> None:
        """Write a state object."""

    @abstractmethod
    def get_state(self, key: str) -> bytes | None:
        """Read a state object, None if it does not exist."""

    @abstractmethod
    def state_exists(self, key: str) -> bool:
        """Whether a state object exists."""

    @abstractmethod
    def list_state(self, prefix: str, delimiter: str | None = None) -> Listing:
        """State keys starting with `prefix`, grouped at `delimiter` as S3 does."""

    @abstractmethod
    def delete_state(self, keys: list[str]) -> None:
        """Delete state objects; missing ones are ignored."""
