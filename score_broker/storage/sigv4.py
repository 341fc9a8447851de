"""Fast SigV4 query signing for S3 pre-signed URLs.

botocore spends about 0.2 ms on each pre-signed URL; a 10,000-part spec would take seconds.
This signer produces the same URLs (same canonical request, same parameter order) from a
precomputed bucket base URL and a signing key cached per day, in a few microseconds each.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import NamedTuple
from urllib.parse import quote, urlsplit

ALGORITHM = "AWS4-HMAC-SHA256"


class Credentials(NamedTuple):
    access_key: str
    secret_key: str
    token: str | None


def _encode(value: str) -> str:
    return quote(value, safe="-_.~")


def _hmac(key: bytes, message: str) -> bytes:
    return hmac.new(key, message.encode(), hashlib.sha256).digest()


class QuerySigner:
    """Signs S3 requests in the query string (SigV4), like botocore's `generate_presigned_url`."""

    def __init__(
        self,
        credentials: Callable[[], Credentials],
        region: str,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._credentials = credentials
        self._region = region
        self._clock = clock
        self._key_cache: tuple[str, str, bytes] | None = None

    def _signing_key(self, secret: str, day: str) -> bytes:
        if self._key_cache is None or self._key_cache[:2] != (secret, day):
            key = _hmac(f"AWS4{secret}".encode(), day)
            key = _hmac(key, self._region)
            key = _hmac(key, "s3")
            self._key_cache = (secret, day, _hmac(key, "aws4_request"))
        return self._key_cache[2]

    def presign(
        self,
        method: str,
        base_url: str,
        key: str,
        params: Sequence[tuple[str, str]],
        expires_in: int,
        range_header: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> str:
        """The URL for `method` on `base_url` + `key` (base_url ends with '/').

        The request must then carry `Range: range_header` and `headers` as given: they are
        signed (S3 refuses `x-amz-*` headers that are not)."""
        credentials = self._credentials()
        now = self._clock()
        amz_date = now.strftime("%Y%m%dT%H%M%SZ")
        day = amz_date[:8]
        scope = f"{day}/{self._region}/s3/aws4_request"
        url = base_url + quote(key, safe="/~")
        parts = urlsplit(url)
        signed = {"host": parts.netloc}
        if range_header is not None:
            signed["range"] = range_header
        signed.update({name.lower(): value.strip() for name, value in (headers or {}).items()})
        names = sorted(signed)
        signed_headers = ";".join(names)
        query = [
            *params,
            ("X-Amz-Algorithm", ALGORITHM),
            ("X-Amz-Credential", f"{credentials.access_key}/{scope}"),
            ("X-Amz-Date", amz_date),
            ("X-Amz-Expires", str(expires_in)),
            ("X-Amz-SignedHeaders", signed_headers),
        ]
        if credentials.token:
            query.append(("X-Amz-Security-Token", credentials.token))
        encoded = [(_encode(name), _encode(value)) for name, value in query]
        canonical_query = "&".join(f"{n}={v}" for n, v in sorted(encoded))
        canonical_headers = "".join(f"{name}:{signed[name]}\n" for name in names)
        canonical = "\n".join(
            [
                method,
                parts.path,
                canonical_query,
                canonical_headers,
                signed_headers,
                "UNSIGNED-PAYLOAD",
            ]
        )
        digest = hashlib.sha256(canonical.encode()).hexdigest()
        to_sign = f"{ALGORITHM}\n{amz_date}\n{scope}\n{digest}"
        key_bytes = self._signing_key(credentials.secret_key, day)
        signature = hmac.new(key_bytes, to_sign.encode(), hashlib.sha256).hexdigest()
        query_string = "&".join(f"{n}={v}" for n, v in encoded)
        return f"{url}?{query_string}&X-Amz-Signature={signature}"
