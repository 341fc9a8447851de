"""Real services for the tests: moto and Ceph RGW as S3 servers, brokers as subprocesses.

Slow services are started once per run: moto in-process on its own port, Ceph RGW through
`scripts/ceph-rgw` (which installs Ceph when it is missing), PostgreSQL through initdb and pg_ctl
in a temporary directory (one database per test). Set CEPH_RGW_ENDPOINT to use an
RGW that is already running (its user must have access key and secret `test`).
"""

from __future__ import annotations

import logging
import os
import subprocess
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from moto.s3.models import FakeKey
from moto.server import ThreadedMotoServer

from score_broker.database.connection import PostgresDatabase
from score_broker.database.migrations import KEYS, SONG, upgrade
from tests.support.azurite import ACCOUNT, KEY, running_azurite
from tests.support.broker import BrokerProcess
from tests.support.postgres import PostgresServer
from tests.support.postgres import remove as remove_postgres
from tests.support.postgres import start_server as start_postgres
from tests.support.score_client import ScoreClient
from tests.support.store_proxy import StoreProxy
from tests.support.tui import Tui

ROOT = Path(__file__).resolve().parent.parent
S3_KEYS = {"access_key": "test", "secret_key": "test"}


def _lock_moto_etags() -> None:
    """moto computes a key's ETag by seeking and reading the key's buffer without the key's
    lock (its `value` getter takes it), so a ListParts racing a part's PUT response caches a
    wrong ETag and CompleteMultipartUpload then fails with InvalidPart. Take the lock."""
    unlocked = FakeKey.etag.fget

    def etag(self: FakeKey) -> str:
        with self.lock:
            return unlocked(self)

    FakeKey.etag = property(etag)  # type: ignore[method-assign,assignment]


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[str]:
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    _lock_moto_etags()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture(scope="session")
def ceph_endpoint(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    if os.environ.get("CEPH_RGW_ENDPOINT"):
        yield os.environ["CEPH_RGW_ENDPOINT"]
        return
    directory = tmp_path_factory.mktemp("ceph")
    script = ROOT / "scripts" / "ceph-rgw"
    try:
        started = subprocess.run(
            [str(script), "start", str(directory)],
            stdout=subprocess.PIPE,
            stdin=subprocess.DEVNULL,
            text=True,
            check=True,
            timeout=900,
        )
        yield started.stdout.strip().splitlines()[-1]
    finally:
        subprocess.run([str(script), "stop", str(directory)], stdin=subprocess.DEVNULL, check=False)


@pytest.fixture(scope="session")
def azurite_endpoint(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Azurite's blob service (installed by `scripts/test` under .test-services/)."""
    with running_azurite(tmp_path_factory.mktemp("azurite")) as endpoint:
        yield endpoint


def azure_storage(endpoint: str, container: str) -> dict[str, Any]:
    return {
        "backend": "azure",
        "azure": {
            "account_url": endpoint,
            "account_name": ACCOUNT,
            "account_key": KEY,
            "data_container": container,
            "state_container": f"{container}-state",
            "create_containers": True,
        },
    }


def s3_storage(endpoint: str, bucket: str) -> dict[str, Any]:
    return {
        "backend": "s3",
        "s3": {
            "endpoint_url": endpoint,
            "data_bucket": bucket,
            "state_bucket": f"{bucket}.state",
            "create_buckets": True,
            **S3_KEYS,
        },
    }


BrokerFactory = Callable[..., BrokerProcess]


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """One PostgreSQL server for the whole run."""
    server = start_postgres()
    yield server
    remove_postgres(server)


@pytest.fixture
def postgres_url(postgres_server: PostgresServer) -> str:
    """A new, empty database on it (no schema)."""
    return postgres_server.new_database()


@pytest.fixture
def upgraded_postgres(postgres_url: str) -> str:
    """A new database with the broker's schema, as `score-broker db upgrade` leaves it."""
    database = PostgresDatabase(postgres_url, 1)
    try:
        upgrade(database, (KEYS, SONG))
    finally:
        database.close()
    return postgres_url


@pytest.fixture(params=["sqlite", "postgresql"])
def song_database(request: pytest.FixtureRequest) -> str:
    """`[database] url` for a broker whose keys and embedded Song are under test on both
    backends: empty (SQLite files) or a new PostgreSQL database with the schema."""
    if request.param == "sqlite":
        return ""
    url: str = request.getfixturevalue("upgraded_postgres")
    return url


@pytest.fixture
def broker_factory(tmp_path: Path) -> Iterator[BrokerFactory]:
    """Starts brokers with a given [storage] table; stops them all at the end of the test."""
    started: list[BrokerProcess] = []

    def start(
        storage: dict[str, Any],
        healthy: bool = True,
        song: dict[str, Any] | None = None,
        auth: dict[str, Any] | None = None,
        database: str = "",
        ca_file: Path | None = None,
        **server: Any,
    ) -> BrokerProcess:
        """A broker on `storage`; by default without Song and without authorization, its keys
        and Song in SQLite files (or in the PostgreSQL database at `database`). With
        `tls_cert_file` and `tls_key_file` it serves HTTPS, trusted through `ca_file`."""
        config = {
            "server": {"log_level": "info", "data_directory": str(tmp_path / "data"), **server},
            "database": {"url": database},
            "storage": storage,
            "song": song or {"url": "none"},
            "auth": auth or {"enabled": False},
        }
        broker = BrokerProcess(config, tmp_path / "brokers", ca_file=ca_file).start(healthy)
        started.append(broker)
        return broker

    yield start
    for broker in started:
        broker.stop()


def _storage_for(backend: str, request: pytest.FixtureRequest, directory: Path) -> dict[str, Any]:
    bucket = f"score-{uuid.uuid4().hex[:12]}"
    if backend == "local":
        return {"backend": "local", "local": {"directory": str(directory)}}
    endpoint = request.getfixturevalue(f"{backend}_endpoint")
    if backend == "azurite":
        return azure_storage(endpoint, bucket)
    return s3_storage(endpoint, bucket)


@pytest.fixture(params=["local", "moto", "ceph", "azurite"])
def storage(request: pytest.FixtureRequest, tmp_path: Path) -> dict[str, Any]:
    """A fresh [storage] table on each backend: a new directory or new buckets."""
    return _storage_for(request.param, request, tmp_path / "store")


@pytest.fixture(params=["local", "ceph", "azurite"])
def enforcing_storage(request: pytest.FixtureRequest, tmp_path: Path) -> dict[str, Any]:
    """Backends that really check signatures, expiry and Content-MD5 (moto does not)."""
    return _storage_for(request.param, request, tmp_path / "store")


@pytest.fixture
def broker(broker_factory: BrokerFactory, storage: dict[str, Any]) -> BrokerProcess:
    return broker_factory(storage)


@pytest.fixture
def client(broker: BrokerProcess) -> Iterator[ScoreClient]:
    score_client = ScoreClient(broker.url)
    yield score_client
    score_client.close()


@pytest.fixture
def object_id() -> str:
    return str(uuid.uuid4())


@pytest.fixture(scope="session")
def content_100mb() -> bytes:
    return os.urandom(100 * 1000 * 1000)


@pytest.fixture(params=["local", "moto", "azurite"])
def transfer_storage(request: pytest.FixtureRequest, tmp_path: Path) -> dict[str, Any]:
    """The backends the client's end-to-end tests run on."""
    return _storage_for(request.param, request, tmp_path / "store")


@pytest.fixture
def song_broker(broker_factory: BrokerFactory, transfer_storage: dict[str, Any]) -> BrokerProcess:
    """A broker with the embedded Song, authorization off."""
    return broker_factory(transfer_storage, song={"url": "embedded"})


@pytest.fixture
def tui(tmp_path: Path, song_broker: BrokerProcess) -> Tui:
    (tmp_path / "user").mkdir()
    return Tui(tmp_path / "user", song_broker.url)


@pytest.fixture(scope="session")
def content_150mb() -> bytes:
    """Eight parts at the broker's 20 MiB part size."""
    return os.urandom(150 * 1024 * 1024)


Proxied = Callable[..., tuple[BrokerProcess, StoreProxy]]


@pytest.fixture(params=["local", "moto", "azurite"])
def proxied(
    request: pytest.FixtureRequest, broker_factory: BrokerFactory, tmp_path: Path
) -> Iterator[Proxied]:
    """Starts a broker (embedded Song) whose data URLs lead through a StoreProxy."""
    proxies: list[StoreProxy] = []

    def start(**storage_extra: Any) -> tuple[BrokerProcess, StoreProxy]:
        proxy = StoreProxy(upstream="").start()
        proxies.append(proxy)
        if request.param == "local":
            storage = {"backend": "local", "local": {"directory": str(tmp_path / "store")}}
            broker = broker_factory(
                {**storage, **storage_extra}, song={"url": "embedded"}, public_url=proxy.url
            )
            proxy.upstream = broker.url
        elif request.param == "azurite":
            upstream = request.getfixturevalue("azurite_endpoint")
            proxy.upstream = upstream.rsplit("/", 1)[0]
            account = upstream.rsplit("/", 1)[1]
            storage = azure_storage(f"{proxy.url}/{account}", f"score-{uuid.uuid4().hex[:12]}")
        else:
            proxy.upstream = request.getfixturevalue("moto_endpoint")
            storage = s3_storage(proxy.url, f"score-{uuid.uuid4().hex[:12]}")
        if request.param != "local":
            broker = broker_factory({**storage, **storage_extra}, song={"url": "embedded"})
        return broker, proxy

    yield start
    for proxy in proxies:
        proxy.stop()
