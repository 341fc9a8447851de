"""Which route template a request went to (`/download/{object_id}`), for the access log and the
metrics: a template, never a path, so ids never become label values or log fields to group by."""

from __future__ import annotations

from starlette.routing import BaseRoute, Match
from starlette.types import Scope

#: The template of a request for a path no route knows (a 404).
UNMATCHED = "unmatched"


class RouteTemplates:
    """The broker's routes with their path templates (an included router by its own routes)."""

    def __init__(self, routes: list[BaseRoute]) -> None:
        self.templates = [
            (route, path)
            for route in routes
            if isinstance(path := getattr(route, "path", None), str)
        ]

    def of(self, scope: Scope) -> str:
        """The template of the route for this request: the one that matches it, else one whose
        path matches with another method (a 405), else UNMATCHED. A trailing slash is ignored,
        as the broker ignores it."""
        path = scope.get("path", "")
        candidates = [{**scope}]
        if len(path) > 1 and path.endswith("/"):
            candidates.append({**scope, "path": path.rstrip("/")})
        for candidate in candidates:
            partial = None
            for route, template in self.templates:
                match, _ = route.matches(candidate)
                if match is Match.FULL:
                    return template
                if match is Match.PARTIAL and partial is None:
                    partial = template
            if partial is not None:
                return partial
        return UNMATCHED
