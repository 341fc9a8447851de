"""The local store's signed URLs.

A URL is `<public_url>/storage/<key>?...&Expires=<epoch s>&Signature=<hex>`, the signature an
HMAC-SHA256 over the method, key, upload id, part number, part offset and size or byte range,
and expiry. The `Expires` parameter is the one score-client parses to decide whether a URL is
still usable. Every number in a URL is ASCII digits within S3's limits; anything else is
refused (403) before it is used.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
import secrets
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, urlencode

from score_broker import metrics
from score_broker.errors import DataPlaneError

SIGNED_FIELDS = ("uploadId", "partNumber", "offset", "size", "range")
_HEX_SIGNATURE = re.compile(r"[0-9a-f]{64}")
#: A URL's numbers: ASCII digits only (`str.isdigit` accepts "²"), at most 15 of them.
_NUMBER = re.compile(r"[0-9]{1,15}")
_RANGE_FIELD = re.compile(r"([0-9]{1,15})-([0-9]{1,15})")
#: The largest part, offset and byte position a signed URL may name (S3's own limits).
MAX_PART_NUMBER = 10_000
MAX_POSITION = 5 * 1024**4


@dataclass(frozen=True, slots=True)
class SignedRequest:
    """What a verified URL allows: a part PUT (`part_number` set) or a GET (optional range)."""

    key: str
    upload_id: str | None = None
    part_number: int | None = None
    offset: int | None = None
    size: int | None = None
    byte_range: tuple[int, int] | None = None


def load_secret(path: Path) -> bytes:
    """The URL-signing key, created once with mode 0600."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        os.chmod(path, 0o600)
        return bytes.fromhex(path.read_text().strip())
    with os.fdopen(fd, "w") as handle:
        handle.write(secrets.token_hex(32))
    return bytes.fromhex(path.read_text().strip())


class UrlSigner:
    """Signs and verifies the local store's URLs with one secret."""

    def __init__(self, secret: bytes, public_url: str) -> None:
        self._secret = secret
        self.public_url = public_url.rstrip("/")

    def _signature(self, method: str, key: str, fields: Mapping[str, str], expires: int) -> str:
        signed = [f"{name}={fields[name]}" for name in SIGNED_FIELDS if name in fields]
        message = "\n".join([method, key, *signed, str(expires)])
        return hmac.new(self._secret, message.encode(), hashlib.sha256).hexdigest()

    def url(self, method: str, key: str, fields: dict[str, str], expires_in: int) -> str:
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
            metrics.refused("bad_url")
            raise DataPlaneError(
                403, "AccessDenied", "The URL has no valid Expires and Signature parameters."
            )
        expires = int(expires_text)
        expected = self._signature(signed_method, key, params, expires)
        if not hmac.compare_digest(expected, signature):
            metrics.refused("bad_url")
            raise DataPlaneError(
                403,
                "SignatureDoesNotMatch",
                "The URL's signature does not match; ask the broker for a new URL.",
            )
        if time.time() > expires:
            metrics.refused("expired_url")
            raise DataPlaneError(
                403, "AccessDenied", "The URL has expired; ask the broker for a new one."
            )
        signed = _signed_request(signed_method, key, params)
        if signed is None:
            metrics.refused("bad_url")
            raise DataPlaneError(403, "AccessDenied", f"This URL does not allow {method} requests.")
        return signed


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
