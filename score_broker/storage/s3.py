"""The `s3` store: AWS S3, Ceph RGW or MinIO, with SigV4 pre-signed URLs.

boto3 resolves the credentials (the standard chain when no keys are configured) and how the
endpoint addresses a bucket; the calls themselves go through `S3Api`, which signs them as it
signs the URLs it hands out.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import boto3
from botocore.config import Config

from score_broker.checksums import parse_md5
from score_broker.errors import BrokerError, InvalidRequest, NotFound
from score_broker.storage.base import (
    Listing,
    ObjectHead,
    ObjectStore,
    StoredObject,
    StoredPart,
    check_each,
    store_failure,
)
from score_broker.storage.bucket_pool import BucketPool
from score_broker.storage.http_pool import Unreachable
from score_broker.storage.s3_api import S3Api, S3Error
from score_broker.storage.sigv4 import Credentials, QuerySigner

#: User metadata under which objects placed outside the broker may carry their MD5 (base64).
CUSTOM_MD5_METADATA = "md5chksum"
#: How long a successful check of a bucket pool stands for `/download/ping`.
PING_CHECK_SECONDS = 30.0
_UNAVAILABLE_CODES = frozenset({"SlowDown", "RequestTimeout", "ServiceUnavailable"})
_ASSEMBLY_CODES = frozenset({"InvalidPart", "InvalidPartOrder", "EntityTooSmall"})


@contextmanager
def _translated(what: str) -> Iterator[None]:
    """The store's failures as the broker's errors."""
    try:
        yield
    except Unreachable as error:
        raise store_failure(what, None, str(error)) from error
    except S3Error as error:
        code = error.code or str(error.status)
        raise store_failure(what, error.status, code, error.code in _UNAVAILABLE_CODES) from error


def _epoch_ms(stamp: str) -> int:
    """S3's LastModified (ISO 8601) in epoch milliseconds, as Score's listing sends it."""
    try:
        return int(datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp() * 1000)
    except ValueError:
        return 0


def _http_date(value: str | None) -> datetime | None:
    """A Last-Modified header (RFC 7231 date), None when absent or unreadable."""
    try:
        return parsedate_to_datetime(value) if value else None
    except (TypeError, ValueError):
        return None


def _sse_headers(sse: str, kms_key_id: str) -> dict[str, str]:
    if not sse:
        return {}
    headers = {"x-amz-server-side-encryption": sse}
    if sse == "aws:kms" and kms_key_id:
        headers["x-amz-server-side-encryption-aws-kms-key-id"] = kms_key_id
    return headers


def _host_override(base_url: str, presigned_host: str) -> Callable[[str], str]:
    """URLs signed for `base_url`'s host, handed out with `presigned_host`'s scheme and host
    (a bare host keeps the store's scheme), as Score's s3.preSignedUrl.override.host."""
    if not presigned_host:
        return lambda url: url
    own = urlsplit(base_url)
    given = presigned_host if "://" in presigned_host else f"{own.scheme}://{presigned_host}"
    override = urlsplit(given.rstrip("/"))
    if not override.netloc:
        raise BrokerError(f"[storage.s3] presigned_host {presigned_host!r} names no host.")

    def handed_out(url: str) -> str:
        parts = urlsplit(url)
        path = override.path + parts.path
        return urlunsplit((override.scheme, override.netloc, path, parts.query, ""))

    return handed_out


def _boto_client(
    endpoint_url: str | None,
    region: str,
    path_style: bool,
    access_key: str | None,
    secret_key: str | None,
) -> tuple[Any, Callable[[], Credentials]]:
    """botocore's client (it knows how the endpoint addresses buckets) and the credentials
    (the standard chain when no keys are given), read afresh at each signing."""
    session = boto3.session.Session(
        aws_access_key_id=access_key or None,
        aws_secret_access_key=secret_key or None,
        region_name=region,
    )
    config = Config(
        signature_version="s3v4", s3={"addressing_style": "path" if path_style else "virtual"}
    )
    client = session.client("s3", endpoint_url=endpoint_url or None, config=config)
    credentials = session.get_credentials()
    if credentials is None:
        raise BrokerError(
            "No S3 credentials: set [storage.s3] access_key and secret_key, "
            "or configure the standard AWS credential chain."
        )

    def frozen() -> Credentials:
        current = credentials.get_frozen_credentials()
        return Credentials(current.access_key or "", current.secret_key or "", current.token)

    return client, frozen


class S3Store(ObjectStore):
    """Data in one bucket and state in another (they may be the same), on any S3 server."""

    def __init__(
        self,
        *,
        data_bucket: str,
        state_bucket: str,
        endpoint_url: str | None = None,
        region: str = "us-east-1",
        path_style: bool = True,
        access_key: str | None = None,
        secret_key: str | None = None,
        connect_timeout: float = 10,
        read_timeout: float = 60,
        max_attempts: int = 3,
        presigned_host: str = "",
        sse: str = "",
        kms_key_id: str = "",
        bucket_pool_size: int = 0,
        bucket_key_size: int = 2,
    ) -> None:
        client, frozen = _boto_client(endpoint_url, region, path_style, access_key, secret_key)
        self.region = client.meta.region_name
        self.data_bucket = data_bucket
        self.state_bucket = state_bucket
        self.buckets = BucketPool(data_bucket, state_bucket, bucket_pool_size, bucket_key_size)
        self._pool_checked_until = 0.0
        self._signer = QuerySigner(frozen, self.region)
        bases: dict[str, str] = {}

        def base_url(bucket: str) -> str:
            # botocore knows how this endpoint addresses a bucket; ask it once per bucket.
            if bucket not in bases:
                sample = client.generate_presigned_url(
                    "get_object", Params={"Bucket": bucket, "Key": "k"}, ExpiresIn=60
                )
                bases[bucket] = sample.split("?", 1)[0][:-1]
            return bases[bucket]

        self._base_url = base_url
        self._data_base_url = base_url(data_bucket)
        #: Server-side encryption, as Score sets it: on starting an upload and on whole-object
        #: writes (S3 refuses the headers on a part).
        self._sse_headers = _sse_headers(sse, kms_key_id)
        self._sse = sse
        self._handed_out = _host_override(self._data_base_url, presigned_host)
        self.api = S3Api(
            self._signer,
            base_url,
            connect_timeout=connect_timeout,
            read_timeout=read_timeout,
            max_attempts=max_attempts,
        )

    def create_buckets(self) -> None:
        """Create the data and state buckets (every bucket of a pool) if they do not exist
        (development setups)."""
        for bucket in self.buckets.every_bucket():
            with _translated(f"create bucket {bucket}"):
                if not self.api.bucket_exists(bucket):
                    self.api.create_bucket(bucket, self.region)

    def check_for_ping(self) -> None:
        """With a pool, every bucket of it must exist (the sentinel's URL proves only the base
        bucket); a success is trusted for PING_CHECK_SECONDS."""
        if not self.buckets.pool_size or time.monotonic() < self._pool_checked_until:
            return
        self.check()
        self._pool_checked_until = time.monotonic() + PING_CHECK_SECONDS

    def _data_url(self, key: str) -> str:
        return self._base_url(self.buckets.data(key))

    def detect_etags(self) -> None:
        """Whether part ETags are MD5s: not under SSE-KMS, asked for or the bucket's default.
        Where they are not, finish-part checks each part's ETag and size against the store
        (which checked the part's Content-MD5 as it arrived) instead of its MD5."""
        with _translated(f"encryption of bucket {self.data_bucket}"):
            default = self.api.default_encryption(self.data_bucket)
        self.part_etag_is_md5 = "aws:kms" not in (self._sse, default)

    def check(self) -> dict[str, Any]:
        def exists(bucket: str) -> bool:
            with _translated(f"bucket {bucket}"):
                return self.api.bucket_exists(bucket)

        check_each("Bucket", self.buckets.every_bucket(), exists)
        details: dict[str, Any] = {"dataBucket": self.data_bucket, "stateBucket": self.state_bucket}
        if self.buckets.pool_size:
            details["bucketPoolSize"] = self.buckets.pool_size
        return details

    # -- data objects --------------------------------------------------------------------------

    def create_multipart(self, key: str) -> str:
        with _translated(f"start upload of {key}"):
            return self.api.create_multipart(self.buckets.data(key), key, self._sse_headers)

    def sign_upload_part(
        self, key: str, upload_id: str, part_number: int, offset: int, size: int, expires_in: int
    ) -> str:
        params = [("uploadId", upload_id), ("partNumber", str(part_number))]
        return self._handed_out(
            self._signer.presign("PUT", self._data_url(key), key, params, expires_in)
        )

    def get_part(self, key: str, upload_id: str, part_number: int) -> StoredPart | None:
        # Score's query: the one part after `part_number - 1`. Some S3 servers treat the marker
        # as an index, so a miss is confirmed with a full listing.
        found = self._listed_part(key, upload_id, part_number, part_number - 1, 1)
        return found or self._listed_part(key, upload_id, part_number, None, 1000)

    def _listed_part(
        self, key: str, upload_id: str, part_number: int, marker: int | None, page: int
    ) -> StoredPart | None:
        with _translated(f"list part {part_number} of {key}"):
            for part in self.api.list_parts(self.buckets.data(key), key, upload_id, marker, page):
                if part.number == part_number:
                    return StoredPart(etag=part.etag, size=part.size)
                if marker is not None:
                    return None
        return None

    def complete_multipart(
        self, key: str, upload_id: str, etags: list[str], expected_md5: str | None
    ) -> str | None:
        try:
            with _translated(f"complete upload of {key}"):
                self.api.complete_multipart(self.buckets.data(key), key, upload_id, etags)
        except BrokerError as error:
            cause = error.__cause__
            if isinstance(cause, S3Error) and cause.code in _ASSEMBLY_CODES:
                raise InvalidRequest(
                    f"The object store refused to assemble {key}: {cause}."
                ) from error
            raise
        return None

    def abort_multipart(self, key: str, upload_id: str) -> None:
        with _translated(f"abort upload of {key}"):
            self.api.abort_multipart(self.buckets.data(key), key, upload_id)

    def head(self, key: str) -> ObjectHead | None:
        with _translated(f"head {key}"):
            found = self.api.head_object(self.buckets.data(key), key)
        if found is None:
            return None
        md5 = parse_md5(found.headers.get("content-md5"))
        md5 = md5 or parse_md5(found.headers.get(f"x-amz-meta-{CUSTOM_MD5_METADATA}"))
        modified = _http_date(found.headers.get("last-modified"))
        return ObjectHead(size=found.size, md5=md5, etag=found.etag or None, modified=modified)

    def list_objects(self, prefix: str) -> Iterator[StoredObject]:
        """The base bucket (objects from before a pool), then each bucket of the pool, as
        Score's listing reads them; a pool bucket that is missing is an error, the base not."""
        for bucket in self.buckets.data_buckets():
            try:
                with _translated(f"list bucket {bucket}"):
                    for key, size, modified in self.api.list_contents(bucket, prefix):
                        yield StoredObject(key, size, _epoch_ms(modified))
            except NotFound:
                if bucket != self.buckets.data_base:
                    raise

    def put_object(self, key: str, data: bytes) -> None:
        with _translated(f"write {key}"):
            self.api.put_object(self.buckets.data(key), key, data, self._sse_headers)

    def read_range(self, key: str, start: int, end: int) -> bytes:
        if end <= start:
            return b""
        headers = {"Range": f"bytes={start}-{end - 1}"}
        with _translated(f"read {key}"):
            return self.api.call("GET", self.buckets.data(key), key, headers=headers).body

    def sign_get(self, key: str, expires_in: int, byte_range: tuple[int, int] | None) -> str:
        range_header = f"bytes={byte_range[0]}-{byte_range[1]}" if byte_range else None
        return self._handed_out(
            self._signer.presign("GET", self._data_url(key), key, [], expires_in, range_header)
        )

    # -- state objects -------------------------------------------------------------------------

    def put_state(self, key: str, data: bytes) -> None:
        with _translated(f"write state {key}"):
            self.api.put_object(self.buckets.state(key), key, data)

    def get_state(self, key: str) -> bytes | None:
        with _translated(f"read state {key}"):
            return self.api.get_object(self.buckets.state(key), key)

    def state_exists(self, key: str) -> bool:
        with _translated(f"head state {key}"):
            return self.api.head_object(self.buckets.state(key), key) is not None

    def list_state(self, prefix: str, delimiter: str | None = None) -> Listing:
        keys: list[str] = []
        prefixes: list[str] = []
        for bucket in self.buckets.states_for(prefix):
            with _translated(f"list state {prefix}"):
                found, common = self.api.list_objects(bucket, prefix, delimiter)
            keys += found
            prefixes += common
        return Listing(sorted(keys), sorted(prefixes))

    def delete_state(self, keys: list[str]) -> None:
        if not keys:
            return
        by_bucket: dict[str, list[str]] = {}
        for key in keys:
            by_bucket.setdefault(self.buckets.state(key), []).append(key)
        for bucket, bucket_keys in by_bucket.items():
            with _translated("delete state"):
                self.api.delete_objects(bucket, bucket_keys)
