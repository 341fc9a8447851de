"""Score's bucket partitioning: an object's data and state in `<bucket>.<i>` of a pool.

With a pool of N buckets, `i` is the first `key_size` hex digits of the object id, modulo N
(Score's S3BucketNamingService: no zero padding), so a partitioned Score store can be taken
over. A key that names no object (the sentinel, the cleanup lease) stays in the base bucket, as
Score's ping does. A pool of 0 is one bucket, the base.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

_OBJECT_ID = re.compile(
    r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
)


class BucketPool:
    """Which data and state bucket a key lives in."""

    def __init__(self, data: str, state: str, pool_size: int = 0, key_size: int = 2) -> None:
        if pool_size < 0 or (pool_size and not 1 <= key_size <= 7):
            raise ValueError("bucket_pool_size must be 0 or more, bucket_key_size 1 to 7")
        self.data_base = data
        self.state_base = state
        self.pool_size = pool_size
        self.key_size = key_size

    def index(self, object_id: str) -> int:
        """Score's index: the object id's first `key_size` hex digits, modulo the pool."""
        return int(object_id[: self.key_size], 16) % self.pool_size

    def _bucket(self, base: str, key: str) -> str:
        found = _OBJECT_ID.search(key) if self.pool_size else None
        return f"{base}.{self.index(found.group())}" if found else base

    def data(self, key: str) -> str:
        return self._bucket(self.data_base, key)

    def state(self, key: str) -> str:
        return self._bucket(self.state_base, key)

    def states_for(self, prefix: str) -> list[str]:
        """The state buckets a listing of `prefix` must read: one if it names an object."""
        if not self.pool_size or _OBJECT_ID.search(prefix):
            return [self.state(prefix)]
        return self._pool(self.state_base)

    def _pool(self, base: str) -> list[str]:
        return [f"{base}.{i}" for i in range(self.pool_size)]

    def data_buckets(self) -> list[str]:
        """The base data bucket and the pool's, in the order Score lists them."""
        return [self.data_base, *(self._pool(self.data_base) if self.pool_size else [])]

    def every_bucket(self) -> list[str]:
        """Each bucket in use: the bases (the sentinel, the lease) and the pool, once each."""
        buckets: Iterable[str] = (self.data_base, self.state_base)
        if self.pool_size:
            buckets = [*buckets, *self._pool(self.data_base), *self._pool(self.state_base)]
        return list(dict.fromkeys(buckets))
