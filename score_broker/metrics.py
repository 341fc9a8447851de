"""The broker's Prometheus series: counted where things happen (services, auth, storage,
metadata), read by `GET /metrics`.

Every layer may import this module; it imports nothing of the broker. Label values are fixed
words, route templates and status codes, never an id, a key or a raw path. Under several uvicorn
workers (`[server] workers`) the serve command sets `PROMETHEUS_MULTIPROC_DIR` before anything
imports prometheus-client: each worker then keeps its values in files there, and a scrape, by
whichever worker answers it, adds them all up.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Literal, get_args

from prometheus_client import REGISTRY, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client import multiprocess as _multiprocess

#: Whether prometheus-client chose file-backed values (it decides once, at its import).
MULTIPROCESS = bool(os.environ.get("PROMETHEUS_MULTIPROC_DIR"))
#: The method label of anything but the methods HTTP defines.
OTHER_METHOD = "OTHER"
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"})

Refusal = Literal[
    "no_token", "bad_token", "expired_token", "revoked_token", "scope", "state",
    "mismatch", "bad_url", "expired_url",
]  # fmt: skip
UrlKind = Literal["upload_part", "upload_object", "download_part", "download_object", "htsget",
                  "ping"]  # fmt: skip
AbortReason = Literal["cancelled", "replaced", "stale"]

_REQUEST_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120)

REQUESTS = Counter(
    "score_broker_requests_total",
    "HTTP requests answered, by method, route template and status code.",
    ["method", "route", "status"],
)
REQUEST_SECONDS = Histogram(
    "score_broker_request_duration_seconds",
    "Time from a request's arrival to the end of its answer, by method and route template.",
    ["method", "route"],
    buckets=_REQUEST_BUCKETS,
)
URLS_SIGNED = Counter(
    "score_broker_urls_signed_total", "Pre-signed URLs handed out, by kind.", ["kind"]
)
UPLOADS_STARTED = Counter("score_broker_uploads_started_total", "Uploads initiated.")
UPLOADS_FINALIZED = Counter("score_broker_uploads_finalized_total", "Uploads finalized.")
UPLOADS_ABORTED = Counter(
    "score_broker_uploads_aborted_total",
    "Uploads in progress aborted in the store, by why.",
    ["reason"],
)
DECLARED_BYTES = Counter(
    "score_broker_uploads_declared_bytes_total",
    "Bytes that initiated uploads declared (their fileSize).",
)
REFUSALS = Counter(
    "score_broker_refusals_total", "Requests refused for want of a right, by reason.", ["reason"]
)
STORE_ERRORS = Counter(
    "score_broker_store_errors_total",
    "Calls to the object store that failed (unreachable, 5xx or refused), by operation.",
    ["operation"],
)
SONG_ERRORS = Counter(
    "score_broker_song_errors_total",
    "Lookups in Song that failed (unreachable, 5xx, an answer not understood), by operation.",
    ["operation"],
)
SONG_SECONDS = Histogram(
    "score_broker_song_request_duration_seconds",
    "Time the broker waited on Song for one lookup, retries included, by operation.",
    ["operation"],
)

# Series with known label values exist from the start at 0, so rates and alerts see them.
for _reason in get_args(Refusal):
    REFUSALS.labels(_reason)
for _kind in get_args(UrlKind):
    URLS_SIGNED.labels(_kind)
for _why in get_args(AbortReason):
    UPLOADS_ABORTED.labels(_why)


def request_answered(method: str, route: str, status: int, seconds: float) -> None:
    """One answered HTTP request (`route` a template, or `unmatched`)."""
    method = method if method in METHODS else OTHER_METHOD
    REQUESTS.labels(method, route, str(status)).inc()
    REQUEST_SECONDS.labels(method, route).observe(seconds)


def refused(reason: Refusal) -> None:
    REFUSALS.labels(reason).inc()


def signed(kind: UrlKind, count: int = 1) -> None:
    URLS_SIGNED.labels(kind).inc(count)


def upload_started(declared_bytes: int) -> None:
    UPLOADS_STARTED.inc()
    DECLARED_BYTES.inc(declared_bytes)


def upload_finalized() -> None:
    UPLOADS_FINALIZED.inc()


def upload_aborted(reason: AbortReason) -> None:
    UPLOADS_ABORTED.labels(reason).inc()


def store_failed(operation: str) -> None:
    STORE_ERRORS.labels(operation).inc()


@contextmanager
def song_lookup(operation: str) -> Iterator[None]:
    """Times a lookup in Song; counts it as failed when it raises anything but an answer
    (an exception with a `status` under 500, such as NotFound)."""
    started = time.perf_counter()
    try:
        yield
    except Exception as error:
        if getattr(error, "status", 500) >= 500:
            SONG_ERRORS.labels(operation).inc()
        raise
    finally:
        SONG_SECONDS.labels(operation).observe(time.perf_counter() - started)


def exposition() -> bytes:
    """Every series in Prometheus's text format: this process's, or all workers' added up."""
    if not MULTIPROCESS:
        return generate_latest(REGISTRY)
    registry = CollectorRegistry()
    _multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
    return generate_latest(registry)
