"""Building the broker: the store and services from settings, and the ASGI application."""

from __future__ import annotations

import logging
import os
import ssl
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import anyio
from fastapi import FastAPI

from score_broker import __version__
from score_broker.api.access_log import RequestRecordMiddleware
from score_broker.auth.authenticator import Authenticator
from score_broker.auth.identity import ScopeRule
from score_broker.auth.introspection import Introspector
from score_broker.auth.jwt_tokens import JwtVerifier
from score_broker.auth.keycloak import KeycloakPermissions, realm_url
from score_broker.auth.keys import KeyStore
from score_broker.config import ConfigError, Settings
from score_broker.database.connection import Database
from score_broker.database.migrations import KEYS, SONG
from score_broker.database.opening import open_databases
from score_broker.errors import BrokerError, StorageUnavailable
from score_broker.metadata import Metadata
from score_broker.metadata.embedded import EmbeddedSong
from score_broker.metadata.measured import MeasuredMetadata
from score_broker.metadata.remote import RemoteSong
from score_broker.request_id import RequestIdMiddleware
from score_broker.services import Services
from score_broker.services.access import AccessControl
from score_broker.services.cleanup import Cleanup, Lease, clean_once
from score_broker.services.downloads import DownloadService
from score_broker.services.drs import DrsService
from score_broker.services.htsget import HtsgetService
from score_broker.services.listing import ListingService
from score_broker.services.planner import PartPlanner
from score_broker.services.upload_state import UploadState
from score_broker.services.uploads import UploadService
from score_broker.services.url_lifetimes import UrlLifetime
from score_broker.song.access import SongAccess
from score_broker.song.database import seed_analysis_types
from score_broker.song.events import Outbox
from score_broker.song.service import SongService
from score_broker.song.storage_check import HttpCheck, InProcessCheck, StorageCheck
from score_broker.song.webhooks import Deliveries
from score_broker.storage.azure import AzureStore
from score_broker.storage.base import ObjectStore
from score_broker.storage.local import LocalStore
from score_broker.storage.s3 import S3Store
from score_broker.tls import check_server_files, trusting_own_certificate

log = logging.getLogger(__name__)

ADMIN_KEY_FILE = "admin-key"


def build_store(settings: Settings) -> ObjectStore:
    storage = settings.storage
    if storage.backend == "s3":
        s3 = storage.s3
        store = S3Store(
            data_bucket=s3.data_bucket,
            state_bucket=s3.state_bucket or s3.data_bucket,
            endpoint_url=s3.endpoint_url or None,
            region=s3.region,
            path_style=s3.path_style,
            access_key=s3.access_key or None,
            secret_key=s3.secret_key or None,
            presigned_host=s3.presigned_host,
            sse=s3.sse,
            kms_key_id=s3.kms_key_id,
            bucket_pool_size=s3.bucket_pool_size,
            bucket_key_size=s3.bucket_key_size,
            connect_timeout=s3.connect_timeout,
            read_timeout=s3.read_timeout,
            max_attempts=s3.max_attempts,
        )
        if s3.create_buckets:
            store.create_buckets()
        try:
            store.detect_etags()
        except BrokerError as error:
            log.warning("cannot read the bucket's default encryption yet: %s", error)
        return store
    if storage.backend == "azure":
        azure = storage.azure
        blob_store = AzureStore(
            data_container=azure.data_container,
            state_container=azure.state_container or azure.data_container,
            account_url=azure.account_url,
            account_name=azure.account_name,
            account_key=azure.account_key,
            connection_string=azure.connection_string,
            sas_token=azure.sas_token,
            whole_blob_uploads=azure.upload_flow == "blob",
        )
        if azure.create_containers:
            blob_store.create_containers()
        return blob_store
    return LocalStore(settings.local_directory, settings.public_url)


def build_authenticator(settings: Settings, keys_database: Database) -> Authenticator:
    auth = settings.auth
    introspector = None
    if auth.introspection_url:
        introspector = Introspector(
            auth.introspection_url,
            auth.introspection_client_id or auth.keycloak_client_id,
            auth.introspection_client_secret or auth.keycloak_client_secret,
            auth.introspection_token_name,
            auth.introspection_cache_seconds,
        )
    permissions = None
    jwks_url = auth.jwt_jwks_url
    if auth.provider == "keycloak":
        if not (auth.keycloak_url and auth.keycloak_realm and auth.keycloak_client_id):
            raise ConfigError(
                '[auth] provider = "keycloak" needs keycloak_url, keycloak_realm and '
                "keycloak_client_id."
            )
        permissions = KeycloakPermissions(
            auth.keycloak_url, auth.keycloak_realm, auth.keycloak_client_id
        )
        if not (jwks_url or auth.jwt_public_key_file or auth.jwt_public_key_url):
            realm = realm_url(auth.keycloak_url, auth.keycloak_realm)
            jwks_url = realm + "/protocol/openid-connect/certs"
    jwt = JwtVerifier(
        auth.jwt_public_key_file,
        jwks_url,
        auth.jwt_issuer,
        auth.jwt_audience,
        auth.jwt_public_key_url,
    )
    return Authenticator(KeyStore(keys_database), jwt, introspector, permissions)


def build_cleanup(settings: Settings) -> Cleanup:
    """What `score-broker cleanup` works with: the store and its upload state, nothing else."""
    storage = settings.storage
    state = UploadState(build_store(settings), storage.data_directory, storage.upload_directory)
    lifetime = UrlLifetime(storage.upload_url_expiry)
    uploads = UploadService(state, PartPlanner(storage.part_size), lifetime)
    return Cleanup(uploads, state)


def build_embedded_song(settings: Settings) -> SongService:
    """What `score-broker song import` works with: the embedded Song's database. An import
    never publishes, so the store is only reachable through a Score API, never opened here."""
    settings.data_directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    song = settings.song
    if song.score_url:
        check = HttpCheck(song.score_url, song.score_token)
    else:  # this broker, through its public URL: trusting its own certificate when it has one
        server = settings.server
        verify: ssl.SSLContext | bool = True
        if settings.serves_tls:  # a bad pair is one line (ConfigError), never a traceback
            check_server_files(server.tls_cert_file, server.tls_key_file)
            verify = trusting_own_certificate(server.tls_cert_file)
        check = HttpCheck(settings.public_url, song.score_token, verify=verify)
    database = open_databases(settings.database, settings.data_directory, (SONG,))[SONG]
    seed_analysis_types(database)
    return SongService(database, check, settings.limits)


def build_services(settings: Settings, store: ObjectStore | None = None) -> Services:
    settings.data_directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    store = store or build_store(settings)
    storage, auth = settings.storage, settings.auth
    state = UploadState(store, storage.data_directory, storage.upload_directory)
    planner = PartPlanner(storage.part_size)
    upload_urls = UrlLifetime(storage.upload_url_expiry, storage.score_client_upload_url_expiry)
    download_urls = UrlLifetime(
        storage.download_url_expiry, storage.score_client_download_url_expiry
    )
    uploads = UploadService(state, planner, upload_urls)
    downloads = DownloadService(state, planner, download_urls, storage.sentinel)
    embedded = settings.song.url == "embedded"
    databases = open_databases(
        settings.database, settings.data_directory, (KEYS, SONG) if embedded else (KEYS,)
    )
    song: SongService | None = None
    metadata: Metadata | None = None
    if embedded:
        check: StorageCheck = InProcessCheck(uploads, downloads)
        if settings.song.score_url:
            check = HttpCheck(settings.song.score_url, settings.song.score_token)
        seed_analysis_types(databases[SONG])
        outbox = Outbox(tuple(settings.song.webhooks), settings.song.server_id)
        song = SongService(databases[SONG], check, settings.limits, outbox)
        metadata = MeasuredMetadata(EmbeddedSong(song))
    elif settings.song.url != "none":
        remote = RemoteSong(settings.song.url, settings.song.timeout, settings.song.retries)
        metadata = MeasuredMetadata(remote)
    access = AccessControl(
        enabled=auth.enabled,
        metadata=metadata,
        upload_rule=ScopeRule(
            auth.upload_system_scope, auth.upload_study_prefix, auth.upload_study_suffix
        ),
        download_rule=ScopeRule(
            auth.download_system_scope, auth.download_study_prefix, auth.download_study_suffix
        ),
        legacy_mode=settings.song.legacy_mode,
    )
    song_rule = ScopeRule(
        auth.song_system_scope, auth.song_study_prefix, auth.song_study_suffix, case_sensitive=True
    )
    return Services(
        backend=storage.backend,
        store=store,
        uploads=uploads,
        downloads=downloads,
        authenticator=build_authenticator(settings, databases[KEYS]),
        access=access,
        song=song,
        song_access=SongAccess(auth.enabled, song_rule),
        listing=ListingService(store, state.object_key(""), storage.listing_cache_seconds),
        htsget=HtsgetService(store, state.object_key, metadata, download_urls),
        drs=DrsService(settings.public_url, storage.backend, access, metadata, downloads),
    )


def ensure_admin_key(settings: Settings, keys: KeyStore) -> Path | None:
    """On a first start with authorization on and no keys, create an admin key in a 0600 file."""
    if not settings.auth.enabled or not keys.is_empty():
        return None
    auth = settings.auth
    scopes = [auth.upload_system_scope, auth.download_system_scope, auth.song_system_scope]
    created = keys.create_first(scopes, note="admin key created at first start")
    if created is None:  # another replica made the first key meanwhile
        return None
    token, _ = created
    path = settings.data_directory / ADMIN_KEY_FILE
    tmp = path.with_name(f".{ADMIN_KEY_FILE}.{os.getpid()}")
    tmp.unlink(missing_ok=True)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(token + "\n")
    os.replace(tmp, path)
    return path


async def _clean_periodically(settings: Settings, services: Services) -> None:
    """`[cleanup]`: stale uploads aborted at start and then every `interval` seconds, by one
    replica at a time."""
    work = Cleanup(services.uploads, services.uploads.state)
    lease = Lease(services.uploads.state)
    interval = settings.cleanup.interval
    older_than = settings.cleanup.older_than or settings.storage.longest_upload_url_expiry
    while True:
        try:
            await anyio.to_thread.run_sync(clean_once, work, lease, older_than, interval / 2)
        except BrokerError as error:
            log.warning("cleanup failed; it is tried again in %d s: %s", interval, error)
        await anyio.sleep(interval)


def create_app(settings: Settings, services: Services | None = None) -> FastAPI:
    """The broker's ASGI application; builds the services unless they are given."""
    from score_broker.api import (
        dataplane,
        download,
        drs,
        htsget,
        listing,
        service_info,
        song,
        upload,
    )
    from score_broker.api.body_limit import BodyLimitMiddleware
    from score_broker.api.client_kind import ClientKindMiddleware
    from score_broker.api.cors import PortalCors
    from score_broker.api.errors import CatchAllMiddleware, install_error_handlers
    from score_broker.api.metrics import router as metrics_router
    from score_broker.api.route_templates import RouteTemplates
    from score_broker.api.trailing_slash import TrailingSlashMiddleware

    services = services or build_services(settings)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        try:
            services.downloads.ensure_sentinel()
        except StorageUnavailable as error:
            log.warning("cannot create the sentinel object yet: %s", error)
        async with anyio.create_task_group() as tasks:
            if settings.cleanup.enabled:
                tasks.start_soon(_clean_periodically, settings, services)
            if services.song is not None and services.song.outbox.enabled:
                hooks = settings.song
                deliveries = Deliveries(
                    services.song.db, hooks.webhooks, hooks.webhook_secret, hooks.webhook_timeout
                )
                tasks.start_soon(deliveries.run_forever)
            yield
            tasks.cancel_scope.cancel()

    app = FastAPI(
        lifespan=lifespan,
        title="score-broker",
        version=__version__,
        description="A Score-compatible broker: upload and download specs with pre-signed URLs.",
    )
    app.state.services = services
    app.state.settings = settings
    install_error_handlers(app)
    routers = [
        service_info.router,
        listing.router,
        download.router,
        htsget.router,
        upload.router,
        drs.router,
    ]
    if services.song is not None:
        routers.append(song.router)
    if settings.server.metrics:
        routers.append(metrics_router)
    for router in routers:
        app.include_router(router)
    if isinstance(services.store, LocalStore):
        app.router.routes.extend(dataplane.routes)
    app.router.redirect_slashes = False
    app.add_middleware(TrailingSlashMiddleware, routes=app.router.routes)
    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.limits.max_body_bytes)
    app.add_middleware(ClientKindMiddleware)
    app.add_middleware(CatchAllMiddleware)
    if settings.server.cors_origins:
        app.add_middleware(PortalCors, origins=settings.server.cors_origins)
    # FastAPI wraps an included router's routes: their templates are read from the routers.
    templates = RouteTemplates(
        [*app.router.routes, *(r for router in routers for r in router.routes)]
    )
    server = settings.server
    if server.metrics or server.access_log:
        app.add_middleware(
            RequestRecordMiddleware,
            templates=templates,
            log_access=server.access_log,
            count=server.metrics,
        )
    app.add_middleware(RequestIdMiddleware)
    return app
