"""MD5s spelled as hex or base64, as Score, S3 and HTTP headers spell them."""

from __future__ import annotations

import base64
import hashlib

import pytest

from score_broker.checksums import parse_md5

DIGEST = hashlib.md5(b"ACGT").digest()  # noqa: S324
HEX = DIGEST.hex()
B64 = base64.b64encode(DIGEST).decode()


@pytest.mark.parametrize("spelled", [HEX, HEX.upper(), f'"{HEX}"', f" {B64} ", B64])
def test_hex_and_base64_give_lower_case_hex(spelled: str) -> None:
    assert parse_md5(spelled) == HEX


@pytest.mark.parametrize(
    "spelled", [None, "", "x" * 32, HEX[:31], base64.b64encode(b"short").decode(), "²" * 32]
)
def test_anything_else_is_none(spelled: str | None) -> None:
    assert parse_md5(spelled) is None


def test_a_content_md5_header_must_be_base64() -> None:
    assert parse_md5(HEX, hex_ok=False) is None
    assert parse_md5(B64, hex_ok=False) == HEX
