"""Broker services: part planning, upload state, upload and download specs, access rules, DRS."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from score_broker.auth.authenticator import Authenticator
    from score_broker.services.access import AccessControl
    from score_broker.services.downloads import DownloadService
    from score_broker.services.drs import DrsService
    from score_broker.services.htsget import HtsgetService
    from score_broker.services.listing import ListingService
    from score_broker.services.uploads import UploadService
    from score_broker.song.access import SongAccess
    from score_broker.song.service import SongService
    from score_broker.storage.base import ObjectStore


@dataclass(frozen=True, slots=True)
class Services:
    """Everything the routes call, built once per process."""

    backend: str
    store: ObjectStore
    uploads: UploadService
    downloads: DownloadService
    authenticator: Authenticator
    access: AccessControl
    song: SongService | None
    song_access: SongAccess
    listing: ListingService
    htsget: HtsgetService
    drs: DrsService
