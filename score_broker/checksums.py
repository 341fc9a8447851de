"""MD5s as the broker's callers and stores spell them: hex (Score, ETags) or base64 (HTTP's
Content-MD5, S3 user metadata)."""

from __future__ import annotations

import base64
import binascii
import re

_HEX_MD5 = re.compile(r"[0-9a-fA-F]{32}")


def parse_md5(value: str | None, *, hex_ok: bool = True) -> str | None:
    """Lower-case hex of an MD5 given as 32 hex digits (when `hex_ok`) or as the base64 of its
    16 bytes, quotes and spaces around it ignored; None if it is neither."""
    if not value:
        return None
    text = value.strip().strip('"')
    if hex_ok and _HEX_MD5.fullmatch(text):
        return text.lower()
    try:
        raw = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        return None
    return raw.hex() if len(raw) == 16 else None
