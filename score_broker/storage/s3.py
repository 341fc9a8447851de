"""The `s3` store: AWS S3, Ceph RGW or MinIO through boto3, with SigV4 pre-signed URLs."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable
from typing import Any, TypeVar

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from score_broker.errors import BrokerError, InvalidRequest, NotFound, StorageUnavailable
from score_broker.storage.base import Listing, ObjectHead, ObjectStore, StoredPart
from score_broker.storage.sigv4 import Credentials, QuerySigner

T = TypeVar("T")

NOT_FOUND_CODES = frozenset({"404", "NoSuchKey", "NoSuchUpload", "NotFound"})
#: User metadata under which objects placed outside the broker may carry their MD5 (base64).
CUSTOM_MD5_METADATA = "md5chksum"


def _error_code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


def _status(error: ClientError) -> int:
    return int(error.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0))


def _md5_from_metadata(value: str | None) -> str | None:
    if not value:
        return None
    value = value.strip('"')
    if len(value) == 32:
        return value.lower()
    try:
        return base64.b64decode(value, validate=True).hex()
    except (binascii.Error, ValueError):
        return None


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
    ) -> None:
        config = Config(
            signature_version="s3v4",
            s3={"addressing_style": "path" if path_style else "virtual"},
            connect_timeout=connect_timeout,
            read_timeout=read_timeout,
            retries={"max_attempts": 3, "mode": "standard"},
            max_pool_connections=64,
        )
        session = boto3.session.Session(
            aws_access_key_id=access_key or None,
            aws_secret_access_key=secret_key or None,
            region_name=region,
        )
        self.client = session.client("s3", endpoint_url=endpoint_url or None, config=config)
        self.data_bucket = data_bucket
        self.state_bucket = state_bucket
        credentials = session.get_credentials()
        if credentials is None:
            raise BrokerError(
                "No S3 credentials: set [storage.s3] access_key and secret_key, "
                "or configure the standard AWS credential chain."
            )

        def frozen() -> Credentials:
            current = credentials.get_frozen_credentials()
            return Credentials(current.access_key, current.secret_key, current.token)

        self._signer = QuerySigner(frozen, self.client.meta.region_name)
        # botocore knows how this endpoint addresses a bucket; ask it once, then sign fast.
        sample = self.client.generate_presigned_url(
            "get_object", Params={"Bucket": data_bucket, "Key": "k"}, ExpiresIn=60
        )
        self._data_base_url = sample.split("?", 1)[0][:-1]

    def _call(self, what: str, action: Callable[[], T]) -> T:
        """Run a boto3 call, turning its failures into the broker's errors."""
        try:
            return action()
        except ClientError as error:
            code, status = _error_code(error), _status(error)
            if code in NOT_FOUND_CODES or status == 404:
                raise NotFound(f"{what}: not found in the object store ({code}).") from error
            if status >= 500 or code in {"SlowDown", "RequestTimeout", "ServiceUnavailable"}:
                raise StorageUnavailable(f"{what}: the object store failed ({code}).") from error
            raise BrokerError(f"{what}: the object store refused the request ({code}).") from error
        except BotoCoreError as error:
            raise StorageUnavailable(f"{what}: cannot reach the object store ({error}).") from error

    def create_buckets(self) -> None:
        """Create the data and state buckets if they do not exist (development setups)."""
        for bucket in {self.data_bucket, self.state_bucket}:
            try:
                self.client.head_bucket(Bucket=bucket)
            except ClientError:
                self._call(
                    f"create bucket {bucket}", lambda b=bucket: self.client.create_bucket(Bucket=b)
                )

    def check(self) -> dict[str, Any]:
        for bucket in {self.data_bucket, self.state_bucket}:
            try:
                self._call(f"bucket {bucket}", lambda b=bucket: self.client.head_bucket(Bucket=b))
            except NotFound as error:
                raise StorageUnavailable(f"Bucket {bucket} does not exist.") from error
            except BrokerError as error:
                raise StorageUnavailable(str(error)) from error
        return {"dataBucket": self.data_bucket, "stateBucket": self.state_bucket}

    def create_multipart(self, key: str) -> str:
        answer = self._call(
            f"start upload of {key}",
            lambda: self.client.create_multipart_upload(Bucket=self.data_bucket, Key=key),
        )
        return str(answer["UploadId"])

    def sign_upload_part(
        self, key: str, upload_id: str, part_number: int, offset: int, size: int, expires_in: int
    ) -> str:
        params = [("uploadId", upload_id), ("partNumber", str(part_number))]
        return self._signer.presign("PUT", self._data_base_url, key, params, expires_in)

    def get_part(self, key: str, upload_id: str, part_number: int) -> StoredPart | None:
        # Score's query: the one part after `part_number - 1`. Some S3 servers treat the marker
        # as an index, so a miss is confirmed with a full listing.
        found = self._listed_part(key, upload_id, part_number, part_number - 1, 1)
        return found or self._listed_part(key, upload_id, part_number, None, 1000)

    def _listed_part(
        self, key: str, upload_id: str, part_number: int, marker: int | None, page: int
    ) -> StoredPart | None:
        arguments: dict[str, Any] = {
            "Bucket": self.data_bucket,
            "Key": key,
            "UploadId": upload_id,
            "MaxParts": page,
        }
        if marker is not None:
            arguments["PartNumberMarker"] = marker
        while True:
            answer = self._call(
                f"list part {part_number} of {key}",
                lambda a=dict(arguments): self.client.list_parts(**a),
            )
            for part in answer.get("Parts", []):
                if part["PartNumber"] == part_number:
                    return StoredPart(etag=str(part["ETag"]).strip('"'), size=int(part["Size"]))
            if marker is not None or not answer.get("IsTruncated"):
                return None
            arguments["PartNumberMarker"] = answer["NextPartNumberMarker"]

    def complete_multipart(
        self, key: str, upload_id: str, etags: list[str], expected_md5: str | None
    ) -> str | None:
        parts = [{"PartNumber": n, "ETag": f'"{etag}"'} for n, etag in enumerate(etags, start=1)]
        try:
            self._call(
                f"complete upload of {key}",
                lambda: self.client.complete_multipart_upload(
                    Bucket=self.data_bucket,
                    Key=key,
                    UploadId=upload_id,
                    MultipartUpload={"Parts": parts},
                ),
            )
        except BrokerError as error:
            cause = error.__cause__
            if isinstance(cause, ClientError) and _error_code(cause) in {
                "InvalidPart",
                "InvalidPartOrder",
                "EntityTooSmall",
            }:
                raise InvalidRequest(
                    f"The object store refused to assemble {key}: {cause}."
                ) from error
            raise
        return None

    def abort_multipart(self, key: str, upload_id: str) -> None:
        try:
            self._call(
                f"abort upload of {key}",
                lambda: self.client.abort_multipart_upload(
                    Bucket=self.data_bucket, Key=key, UploadId=upload_id
                ),
            )
        except NotFound:
            return

    def head(self, key: str) -> ObjectHead | None:
        try:
            answer = self._call(
                f"head {key}", lambda: self.client.head_object(Bucket=self.data_bucket, Key=key)
            )
        except NotFound:
            return None
        metadata = answer.get("Metadata") or {}
        md5 = _md5_from_metadata(
            answer.get("ResponseMetadata", {}).get("HTTPHeaders", {}).get("content-md5")
        )
        md5 = md5 or _md5_from_metadata(metadata.get(CUSTOM_MD5_METADATA))
        etag = str(answer.get("ETag") or "").strip('"') or None
        return ObjectHead(size=int(answer["ContentLength"]), md5=md5, etag=etag)

    def put_object(self, key: str, data: bytes) -> None:
        self._call(
            f"write {key}",
            lambda: self.client.put_object(Bucket=self.data_bucket, Key=key, Body=data),
        )

    def sign_get(self, key: str, expires_in: int, byte_range: tuple[int, int] | None) -> str:
        range_header = f"bytes={byte_range[0]}-{byte_range[1]}" if byte_range else None
        return self._signer.presign("GET", self._data_base_url, key, [], expires_in, range_header)

    def put_state(self, key: str, data: bytes) -> None:
        self._call(
            f"write state {key}",
            lambda: self.client.put_object(Bucket=self.state_bucket, Key=key, Body=data),
        )

    def get_state(self, key: str) -> bytes | None:
        try:
            answer = self._call(
                f"read state {key}",
                lambda: self.client.get_object(Bucket=self.state_bucket, Key=key),
            )
        except NotFound:
            return None
        return bytes(answer["Body"].read())

    def state_exists(self, key: str) -> bool:
        try:
            self._call(
                f"head state {key}",
                lambda: self.client.head_object(Bucket=self.state_bucket, Key=key),
            )
        except NotFound:
            return False
        return True

    def list_state(self, prefix: str, delimiter: str | None = None) -> Listing:
        paginator = self.client.get_paginator("list_objects_v2")
        arguments: dict[str, Any] = {"Bucket": self.state_bucket, "Prefix": prefix}
        if delimiter:
            arguments["Delimiter"] = delimiter

        def collect() -> Listing:
            keys: list[str] = []
            prefixes: list[str] = []
            for page in paginator.paginate(**arguments):
                keys.extend(item["Key"] for item in page.get("Contents", []))
                prefixes.extend(item["Prefix"] for item in page.get("CommonPrefixes", []))
            return Listing(keys, prefixes)

        return self._call(f"list state {prefix}", collect)

    def delete_state(self, keys: list[str]) -> None:
        for start in range(0, len(keys), 1000):
            batch = [{"Key": key} for key in keys[start : start + 1000]]
            self._call(
                "delete state",
                lambda b=batch: self.client.delete_objects(
                    Bucket=self.state_bucket, Delete={"Objects": b, "Quiet": True}
                ),
            )
