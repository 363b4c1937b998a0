"""Dakota's errors: RFC 9457 problem details, in the two flavours Dakota's spec uses."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from simulator.core.errors import Envelope, ErrorContext, SandboxError

DOCS_BASE = "https://docs.dakota.xyz/api-reference/errors#"
PROBLEM_JSON = "application/problem+json"
# An operation whose contract declares its errors as plain application/json (the bulk import, a quirk of the spec)
# answers them with types under this base: all of them, the statuses its spec does not list (409, 413, 422, 429,
# 503) included, so a client sees one family.
PROBLEMS_BASE = "https://api.platform.dakota.xyz/problems/"
API_BASE = "https://api.platform.dakota.xyz"

_SLUGS = {
    400: ("invalid-request", "Invalid request"),
    401: ("authentication-error", "Unauthorized"),
    403: ("forbidden", "Forbidden"),
    404: ("not-found", "Not found"),
    405: ("method-not-allowed", "Method not allowed"),
    409: ("conflict", "Conflict"),
    413: ("payload-too-large", "Payload too large"),
    415: ("unsupported-media-type", "Unsupported media type"),
    422: ("unprocessable-entity", "Unprocessable entity"),
    429: ("rate-limit-exceeded", "Too many requests"),
    500: ("internal-error", "Unexpected error"),
}
_BULK_SLUGS = {400: ("invalid-request", "Invalid Request"), 401: ("unauthorized", "Unauthorized")}


class DakotaProblem(SandboxError):
    """A Dakota error. `errors` holds field-level `{field, message, code?}` items."""

    def __init__(
        self,
        status: int,
        detail: str,
        *,
        title: str | None = None,
        errors: list[dict[str, str]] | None = None,
        slug: str | None = None,
    ) -> None:
        super().__init__(detail, status=status)
        self.detail = detail
        self.title = title
        self.errors = errors or []
        self.slug = slug

    def to_dict(self, *, path: str, request_id: str, bulk_style: bool = False) -> dict[str, Any]:
        """The problem body; `bulk_style` gives the bulk import's `/problems/` types."""
        table = _BULK_SLUGS if bulk_style and self.status in _BULK_SLUGS else _SLUGS
        slug, default_title = table.get(self.status, ("error", "Error"))
        slug = self.slug or slug
        base = PROBLEMS_BASE if bulk_style else DOCS_BASE
        body: dict[str, Any] = {
            "type": base + slug,
            "title": self.title or default_title,
            "status": self.status,
            "detail": self.detail,
            "instance": API_BASE + quote(path, safe="/-._~!$&'()*+,;=:@"),  # a URI even for odd paths
            "request_id": request_id,
        }
        if self.errors:
            body["errors"] = self.errors
        return body

    def envelope(self, ctx: ErrorContext) -> Envelope:
        plain = ctx.media_type == "application/json"
        body = self.to_dict(path=ctx.path, request_id=ctx.request_id, bulk_style=plain)
        return Envelope(body, "application/json" if plain else PROBLEM_JSON, self.headers)


class ApplicationNotReady(SandboxError):
    """Submission refused: Dakota answers its own `ApplicationNotReadyError` body, not a problem."""

    status = 400

    def __init__(self, body: dict[str, Any]) -> None:
        super().__init__(str(body.get("status_message", "application not ready")), status=400)
        self.body = body

    def envelope(self, ctx: ErrorContext) -> Envelope:
        return Envelope(self.body)


def invalid(detail: str, field: str | None = None, code: str = "invalid") -> DakotaProblem:
    errors = [{"field": field, "message": detail, "code": code}] if field else None
    return DakotaProblem(400, detail, errors=errors)


def unauthorized(detail: str = "Unauthorized") -> DakotaProblem:
    return DakotaProblem(401, detail)


def not_found(what: str) -> DakotaProblem:
    return DakotaProblem(404, f"{what} not found", title=f"{what} not found")
