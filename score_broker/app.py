"""Building the broker: the store and services from settings, and the ASGI application."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from score_broker import __version__
from score_broker.access_log import AccessLogMiddleware
from score_broker.config import Settings
from score_broker.errors import StorageUnavailable
from score_broker.services import Services
from score_broker.services.downloads import DownloadService
from score_broker.services.planner import PartPlanner
from score_broker.services.upload_state import UploadState
from score_broker.services.uploads import UploadService
from score_broker.storage.base import ObjectStore
from score_broker.storage.local import LocalStore
from score_broker.storage.s3 import S3Store

log = logging.getLogger(__name__)


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
        )
        if s3.create_buckets:
            store.create_buckets()
        return store
    return LocalStore(settings.local_directory, settings.public_url)


def build_services(settings: Settings, store: ObjectStore | None = None) -> Services:
    store = store or build_store(settings)
    storage = settings.storage
    state = UploadState(store, storage.data_directory, storage.upload_directory)
    planner = PartPlanner(storage.part_size)
    return Services(
        backend=storage.backend,
        store=store,
        uploads=UploadService(state, planner, storage.upload_url_expiry),
        downloads=DownloadService(state, planner, storage.download_url_expiry, storage.sentinel),
    )


def create_app(settings: Settings, services: Services | None = None) -> FastAPI:
    """The broker's ASGI application; builds the services unless they are given."""
    from score_broker.api import dataplane, download, service_info, upload
    from score_broker.api.errors import install_error_handlers

    services = services or build_services(settings)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        try:
            services.downloads.ensure_sentinel()
        except StorageUnavailable as error:
            log.warning("cannot create the sentinel object yet: %s", error)
        yield

    app = FastAPI(
        lifespan=lifespan,
        title="score-broker",
        version=__version__,
        description="A Score-compatible broker: upload and download specs with pre-signed URLs.",
    )
    app.state.services = services
    app.state.settings = settings
    install_error_handlers(app)
    app.include_router(service_info.router)
    app.include_router(download.router)
    app.include_router(upload.router)
    if isinstance(services.store, LocalStore):
        app.router.routes.extend(dataplane.routes)
    if settings.server.access_log:
        app.add_middleware(AccessLogMiddleware)
    return app
