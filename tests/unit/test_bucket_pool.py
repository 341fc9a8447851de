"""Score's bucket partitioning, computed as S3BucketNamingService does."""

from __future__ import annotations

from score_broker.storage.bucket_pool import BucketPool

OID = "ab3f1c2e-0000-4000-8000-000000000001"


def test_the_index_is_the_first_hex_digits_modulo_the_pool() -> None:
    pool = BucketPool("score.data", "score.state", pool_size=3, key_size=2)
    assert pool.index(OID) == 0xAB % 3
    assert pool.data(f"data/{OID}") == f"score.data.{0xAB % 3}"
    assert pool.state(f"upload/{OID}_u-1/.meta") == f"score.state.{0xAB % 3}"
    assert pool.state(f"data/{OID}.meta") == f"score.state.{0xAB % 3}"
    wider = BucketPool("d", "s", pool_size=7, key_size=4)
    assert wider.data(f"data/{OID}") == f"d.{0xAB3F % 7}"  # no zero padding, as Score


def test_keys_without_an_object_stay_in_the_base_buckets() -> None:
    pool = BucketPool("d", "s", pool_size=2)
    assert pool.data("data/heliograph") == "d"
    assert pool.state("cleanup.lease") == "s"
    assert pool.states_for("upload/") == ["s.0", "s.1"]
    assert pool.states_for(f"upload/{OID}_") == [pool.state(OID)]
    assert pool.every_bucket() == ["d", "s", "d.0", "d.1", "s.0", "s.1"]


def test_no_pool_is_one_bucket() -> None:
    pool = BucketPool("d", "s")
    assert pool.data(f"data/{OID}") == "d"
    assert pool.states_for("upload/") == ["s"]
    assert pool.every_bucket() == ["d", "s"]
