"""Broker services: part planning, upload state, upload and download specs."""

from __future__ import annotations

from dataclasses import dataclass

from score_broker.services.downloads import DownloadService
from score_broker.services.uploads import UploadService
from score_broker.storage.base import ObjectStore


@dataclass(frozen=True, slots=True)
class Services:
    """Everything the routes call, built once per process."""

    backend: str
    store: ObjectStore
    uploads: UploadService
    downloads: DownloadService
