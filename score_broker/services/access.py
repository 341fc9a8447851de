"""Score's access rules (contract 6.5 and 7.1): who may upload or download which object.

Upload: the system upload scope, or the study's upload scope; initiating also needs the object
registered in Song with its analysis UNPUBLISHED. Download: the system download scope, or an
`open` file (even anonymously), or the study's download scope; download URLs also need the
analysis PUBLISHED, unless the caller only wants the spec without URLs (`exclude-urls=true`).
"""

from __future__ import annotations

from dataclasses import dataclass

from score_broker import metrics
from score_broker.auth.identity import Identity, ScopeRule
from score_broker.checksums import parse_md5
from score_broker.errors import Forbidden, InvalidRequest, NotFound, Unauthorized
from score_broker.metadata import Entity, Metadata
from score_broker.services import validation

UPLOAD_DENIED = "Token missing required scope to update project"
DOWNLOAD_DENIED = "Token missing required scope to download controlled-access file"


@dataclass(frozen=True, slots=True)
class AccessControl:
    """Decides each request; `enabled=False` is development mode (tokens are not needed)."""

    enabled: bool
    metadata: Metadata | None
    upload_rule: ScopeRule
    download_rule: ScopeRule
    legacy_mode: bool = False

    def _entity(self, object_id: str) -> Entity | None:
        return self.metadata.entity(object_id) if self.metadata is not None else None

    def _has_study(self, rule: ScopeRule, identity: Identity | None, study_id: str) -> bool:
        """The study's scope as Score compares it, ignoring case, but only while no other study
        differs from this one only in case: then just the exact spelling counts."""
        if rule.has_study_exactly(identity, study_id):
            return True
        if not rule.has_study(identity, study_id):
            return False
        return self.metadata is None or self.metadata.unique_ignoring_case(study_id)

    def _state(self, entity: Entity) -> str:
        assert self.metadata is not None
        return self.metadata.analysis_state(entity.project_code, entity.gnos_id)

    def check_upload(
        self,
        identity: Identity | None,
        object_id: str,
        changes_data: bool,
        declared: tuple[int, str | None] | None = None,
    ) -> None:
        """Raises Unauthorized, Forbidden, NotFound or InvalidRequest if the upload must stop.
        `declared`: an initiate's fileSize and md5, held against what Song registered."""
        validation.object_id(object_id)
        entity: Entity | None = None
        if self.enabled:
            if identity is None:
                metrics.refused("no_token")
                raise Unauthorized(
                    "A token is required to upload; send 'Authorization: Bearer <token>'."
                )
            if not self.upload_rule.has_system(identity):
                entity = self._entity(object_id)
                if entity is None or not self._has_study(
                    self.upload_rule, identity, entity.project_code
                ):
                    metrics.refused("scope")
                    raise Forbidden(UPLOAD_DENIED)
        # Starting and finalizing both need an UNPUBLISHED analysis, so a published object's
        # bytes cannot be replaced by an upload begun before it was published.
        if changes_data and self.metadata is not None:
            entity = entity or self._entity(object_id)
            assert entity is not None
            if not self.legacy_mode and (state := self._state(entity)) != "UNPUBLISHED":
                metrics.refused("state")
                raise InvalidRequest(
                    f"Critical Error: cannot complete upload for objectId '{object_id}' with "
                    f"analysisState '{state}'. Can only upload objects that have the "
                    "analysisState 'UNPUBLISHED'; unpublish the analysis first."
                )
            if declared is not None:
                self._check_declared(entity, *declared)

    def _check_declared(self, entity: Entity, file_size: int, md5: str | None) -> None:
        """An upload must be of the bytes Song registered (Score checks the MD5 since its
        PR #503; the size is checked too), refused at initiate rather than at publish."""
        assert self.metadata is not None
        record = self.metadata.file_record(entity.project_code, entity.id)
        if record is None:
            return
        if file_size != record.size:
            metrics.refused("mismatch")
            raise InvalidRequest(
                f"fileSize {file_size} differs from the {record.size} bytes Song registered for "
                f"object {entity.id}; upload the file Song describes."
            )
        given = parse_md5(md5) if md5 else None
        if given is not None and record.md5 is not None and given != record.md5:
            metrics.refused("mismatch")
            raise InvalidRequest(
                f"md5 {given} differs from the {record.md5} Song registered for object "
                f"{entity.id}; upload the file Song describes."
            )

    def check_listing(self, identity: Identity | None) -> None:
        """The listing of every object: any download scope, system or of some study."""
        if not self.enabled:
            return
        if identity is None:
            metrics.refused("no_token")
            raise Unauthorized("A token is required; send 'Authorization: Bearer <token>'.")
        rule = self.download_rule
        if not (rule.has_system(identity) or rule.has_any_study(identity)):
            metrics.refused("scope")
            raise Forbidden("Token missing required scope to list objects")

    def check_authenticated(self, identity: Identity | None) -> None:
        """Any valid token (Score's rule for what it does not name)."""
        if self.enabled and identity is None:
            metrics.refused("no_token")
            raise Unauthorized("A token is required; send 'Authorization: Bearer <token>'.")

    def check_system_upload(self, identity: Identity | None) -> None:
        """Only the system upload scope may act on every upload at once."""
        if not self.enabled:
            return
        if identity is None:
            metrics.refused("no_token")
            raise Unauthorized("A token is required; send 'Authorization: Bearer <token>'.")
        if not self.upload_rule.has_system(identity):
            metrics.refused("scope")
            raise Forbidden(UPLOAD_DENIED)

    def check_download(
        self, identity: Identity | None, object_id: str, exclude_urls: bool
    ) -> Entity | None:
        """Raises Unauthorized, Forbidden, NotFound or InvalidRequest if no spec may be given.
        Returns the object's entity when one was read."""
        validation.object_id(object_id)
        entity = self.check_reader(identity, object_id)
        if not exclude_urls and self.metadata is not None and not self.legacy_mode:
            entity = entity or self._entity(object_id)
            assert entity is not None
            if (state := self._state(entity)) != "PUBLISHED":
                metrics.refused("state")
                raise InvalidRequest(
                    f"Object {object_id} is in analysis {entity.gnos_id}, whose state is {state}: "
                    "download URLs are only given for PUBLISHED analyses (use exclude-urls=true "
                    "to describe the object without URLs)."
                )
        return entity

    def check_reader(
        self, identity: Identity | None, object_id: str, entity: Entity | None = None
    ) -> Entity | None:
        """Score's download scopes: raises Unauthorized, Forbidden or InvalidRequest unless the
        caller may read the object. Returns its entity when one was read (or given)."""
        if not self.enabled or self.download_rule.has_system(identity):
            return entity
        entity = entity or self._entity(object_id)
        if entity is None:
            metrics.refused("scope")
            raise Forbidden(DOWNLOAD_DENIED)
        access = (entity.access or "").strip().lower()
        if access in ("", "null", "controlled"):
            if identity is None:
                metrics.refused("no_token")
                raise Unauthorized(
                    "A token is required to download a controlled-access file; "
                    "send 'Authorization: Bearer <token>'."
                )
            if not self._has_study(self.download_rule, identity, entity.project_code):
                metrics.refused("scope")
                raise Forbidden(DOWNLOAD_DENIED)
        elif access != "open":
            raise InvalidRequest(f"Song gives object {object_id} the unknown access {access!r}.")
        return entity

    def published_entity(self, object_id: str, entity: Entity | None = None) -> Entity | None:
        """The object's Song entity (`entity` when already read); NotFound unless Song knows it
        and its analysis is PUBLISHED, InvalidRequest for a malformed id. None when the broker
        has no Song. The NotFound may be asked before the caller's rights, so it says the same
        for an unknown and an unpublished object, and names no analysis."""
        validation.object_id(object_id)
        if self.metadata is None:
            return None
        missing = NotFound(
            f"There is no published object {object_id}: only objects of PUBLISHED analyses "
            "are served."
        )
        try:
            entity = entity or self.metadata.entity(object_id)
        except NotFound:
            raise missing from None
        if self._state(entity) != "PUBLISHED":
            metrics.refused("state")
            raise missing
        return entity
