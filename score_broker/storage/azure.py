"""The `azure` store: Azure Blob Storage (or Azurite) through azure-storage-blob.

A part is a block: its id is derived from the upload id and the part number (base64, the same
length for every part), and its URL is a short-lived SAS for Put Block on that one blob, write
only. Azure checks each block's Content-MD5; finalize commits the block list in part order and
records the declared MD5 as the blob's Content-MD5. Upload state lives in the state container
with the same layout as on S3, so replicas share it.

With `whole_blob_uploads` an upload is instead one part whose URL is a create-and-write SAS of
the blob, as on Score's Azure backend: the Java score-client writes it with the Azure SDK.
"""

from __future__ import annotations

import base64
import contextlib
import secrets
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar
from urllib.parse import quote

from azure.core.exceptions import AzureError, HttpResponseError, ResourceNotFoundError
from azure.storage.blob import (
    BlobBlock,
    BlobSasPermissions,
    BlobServiceClient,
    ContentSettings,
    generate_blob_sas,
)

from score_broker.errors import BrokerError, NotFound
from score_broker.storage.base import (
    Listing,
    ObjectHead,
    ObjectStore,
    StoredObject,
    StoredPart,
    check_each,
    store_failure,
)

T = TypeVar("T")
#: SAS start times are set this far back, so clocks a little behind the store still accept them.
CLOCK_SKEW = timedelta(minutes=5)


def block_name(upload_id: str, part_number: int) -> str:
    """A part's block id before base64: `<upload id>-<part number, 5 digits>` (equal lengths).
    The SDK encodes and decodes block ids itself; URLs carry the base64 form."""
    return f"{upload_id}-{part_number:05d}"


class AzureStore(ObjectStore):
    """Data in one container and state in another (they may be the same)."""

    profile = "az"
    part_etag_is_md5 = False
    reports_part_etags = False
    tracks_uploads = False

    def __init__(
        self,
        *,
        data_container: str,
        state_container: str,
        account_url: str = "",
        account_name: str = "",
        account_key: str = "",
        connection_string: str = "",
        sas_token: str = "",
        whole_blob_uploads: bool = False,
    ) -> None:
        self.whole_object_uploads = whole_blob_uploads
        if connection_string:
            self.service = BlobServiceClient.from_connection_string(connection_string)
        elif account_key:
            credential = {"account_name": account_name, "account_key": account_key}
            self.service = BlobServiceClient(account_url, credential=credential)
        elif sas_token:
            self.service = BlobServiceClient(account_url, credential=sas_token)
        else:
            raise BrokerError(
                "No Azure credentials: set [storage.azure] connection_string, or account_url "
                "with account_key (and account_name), or account_url with sas_token."
            )
        self.account_name = self.service.account_name or account_name
        self._key = account_key or (
            self.service.credential.account_key
            if hasattr(self.service.credential, "account_key")
            else ""
        )
        self.data = self.service.get_container_client(data_container)
        self.state = self.service.get_container_client(state_container)

    def _call(self, what: str, action: Callable[[], T]) -> T:
        try:
            return action()
        except HttpResponseError as error:
            status = 404 if isinstance(error, ResourceNotFoundError) else error.status_code
            raise store_failure(what, status or 500, str(error.reason)) from error
        except AzureError as error:
            raise store_failure(what, None, str(error)) from error

    def create_containers(self) -> None:
        for container in {
            self.data.container_name: self.data,
            self.state.container_name: self.state,
        }.values():
            if not container.exists():
                self._call(
                    f"create container {container.container_name}", container.create_container
                )

    def check(self) -> dict[str, Any]:
        def exists(name: str) -> bool:
            container = self.service.get_container_client(name)
            self._call(f"container {name}", container.get_container_properties)
            return True

        check_each("Container", (self.data.container_name, self.state.container_name), exists)
        return {
            "dataContainer": self.data.container_name,
            "stateContainer": self.state.container_name,
        }

    def _blob_url(self, key: str, permission: BlobSasPermissions, expires_in: int) -> str:
        now = datetime.now(UTC)
        if not self._key:
            raise BrokerError("Signing URLs needs the account key ([storage.azure] account_key).")
        sas = generate_blob_sas(
            account_name=self.account_name,
            container_name=self.data.container_name,
            blob_name=key,
            account_key=self._key,
            permission=permission,
            start=now - CLOCK_SKEW,
            expiry=now + timedelta(seconds=expires_in),
        )
        return f"{self.data.get_blob_client(key).url}?{sas}"

    def create_multipart(self, key: str) -> str:
        # Azure needs no call to start: uncommitted blocks belong to the blob until committed.
        return secrets.token_urlsafe(18)

    def sign_upload_part(
        self, key: str, upload_id: str, part_number: int, offset: int, size: int, expires_in: int
    ) -> str:
        url = self._blob_url(key, BlobSasPermissions(write=True), expires_in)
        encoded = base64.b64encode(block_name(upload_id, part_number).encode()).decode()
        return f"{url}&comp=block&blockid={quote(encoded, safe='')}"

    def sign_object_upload(self, key: str, expires_in: int) -> str:
        # Create and write: the Azure SDK puts blocks and the block list (or one Put Blob).
        return self._blob_url(key, BlobSasPermissions(create=True, write=True), expires_in)

    def get_part(self, key: str, upload_id: str, part_number: int) -> StoredPart | None:
        wanted = block_name(upload_id, part_number)
        try:
            _, uncommitted = self._call(
                f"blocks of {key}",
                lambda: self.data.get_blob_client(key).get_block_list("uncommitted"),
            )
        except NotFound:
            return None
        for block in uncommitted:
            if block.id == wanted:
                return StoredPart(etag=wanted, size=int(block.size))
        return None

    def complete_multipart(
        self, key: str, upload_id: str, etags: list[str], expected_md5: str | None
    ) -> str | None:
        blocks = [BlobBlock(block_name(upload_id, n)) for n in range(1, len(etags) + 1)]
        settings = ContentSettings(
            content_type="application/octet-stream",
            content_md5=bytearray(bytes.fromhex(expected_md5)) if expected_md5 else None,
        )
        self._call(
            f"commit {key}",
            lambda: self.data.get_blob_client(key).commit_block_list(
                blocks, content_settings=settings
            ),
        )
        return None

    def abort_multipart(self, key: str, upload_id: str) -> None:
        # Uncommitted blocks are dropped by Azure after a week, or by the next commit.
        return None

    def head(self, key: str) -> ObjectHead | None:
        try:
            props = self._call(f"head {key}", self.data.get_blob_client(key).get_blob_properties)
        except NotFound:
            return None
        md5 = props.content_settings.content_md5
        return ObjectHead(
            size=int(props.size),
            md5=bytes(md5).hex() if md5 else None,
            etag=props.etag,
            modified=props.last_modified,
        )

    def read_range(self, key: str, start: int, end: int) -> bytes:
        if end <= start:
            return b""
        blob = self.data.get_blob_client(key)
        return self._call(
            f"read {key}", lambda: blob.download_blob(offset=start, length=end - start).readall()
        )

    def list_objects(self, prefix: str) -> Iterator[StoredObject]:
        blobs = self._call(
            f"list container {self.data.container_name}",
            lambda: list(self.data.list_blobs(name_starts_with=prefix)),
        )
        for blob in blobs:
            modified = int(blob.last_modified.timestamp() * 1000) if blob.last_modified else 0
            yield StoredObject(blob.name, int(blob.size or 0), modified)

    def put_object(self, key: str, data: bytes) -> None:
        self._call(
            f"write {key}", lambda: self.data.get_blob_client(key).upload_blob(data, overwrite=True)
        )

    def sign_get(self, key: str, expires_in: int, byte_range: tuple[int, int] | None) -> str:
        # A SAS cannot bind a byte range: the client's Range header picks the part's bytes.
        return self._blob_url(key, BlobSasPermissions(read=True), expires_in)

    def put_state(self, key: str, data: bytes) -> None:
        self._call(
            f"write state {key}",
            lambda: self.state.get_blob_client(key).upload_blob(data, overwrite=True),
        )

    def get_state(self, key: str) -> bytes | None:
        try:
            return self._call(
                f"read state {key}",
                lambda: self.state.get_blob_client(key).download_blob().readall(),
            )
        except NotFound:
            return None

    def state_exists(self, key: str) -> bool:
        return bool(self._call(f"head state {key}", self.state.get_blob_client(key).exists))

    def list_state(self, prefix: str, delimiter: str | None = None) -> Listing:
        def collect() -> Listing:
            keys: list[str] = []
            prefixes: list[str] = []
            if delimiter:
                for item in self.state.walk_blobs(name_starts_with=prefix, delimiter=delimiter):
                    if item.name.endswith(delimiter) and not hasattr(item, "size"):
                        prefixes.append(item.name)
                    else:
                        keys.append(item.name)
            else:
                keys = [b.name for b in self.state.list_blobs(name_starts_with=prefix)]
            return Listing(keys, prefixes)

        return self._call(f"list state {prefix}", collect)

    def delete_state(self, keys: list[str]) -> None:
        for key in keys:
            with contextlib.suppress(NotFound):
                self._call(f"delete state {key}", self.state.get_blob_client(key).delete_blob)
