"""Store keys can never name a path outside the store directory."""

from __future__ import annotations

from pathlib import Path

import pytest

from score_broker.errors import InvalidRequest
from score_broker.storage.keys import key_to_path


@pytest.mark.parametrize(
    "key",
    [
        "",
        "..",
        "../x",
        "data/../../x",
        "data/./x",
        "/etc/passwd",
        "data//x",
        "a\\..\\b",
        "a\x00b",
        "data/" + "x" * 2000,
    ],
)
def test_escaping_keys_are_refused(tmp_path: Path, key: str) -> None:
    with pytest.raises(InvalidRequest):
        key_to_path(tmp_path, key)


def test_symlink_out_of_the_store_is_refused(tmp_path: Path) -> None:
    (tmp_path / "store").mkdir()
    (tmp_path / "store" / "link").symlink_to(tmp_path)
    with pytest.raises(InvalidRequest):
        key_to_path(tmp_path / "store", "link/secret")


def test_ordinary_keys_map_below_the_store(tmp_path: Path) -> None:
    marker = 'upload/id_up/part-0000000b|{"partNumber":11,"md5":"a","etag":"b"}'
    assert key_to_path(tmp_path, marker) == tmp_path / "upload" / "id_up" / marker.split("/")[-1]
    assert key_to_path(tmp_path, "data/x.meta") == tmp_path / "data" / "x.meta"
