"""Dakota API-key authentication and permissions."""

from __future__ import annotations

from sqlalchemy.orm import Session

from simulator.dakota import problems as p
from simulator.dakota.models import ApiKey

MANAGE_COMPLIANCE_APPLICATIONS = "manage_compliance_applications"


def authenticate(session: Session, api_key: str | None) -> ApiKey:
    """The `x-api-key` header → its key record; 401 problem when missing or unknown."""
    if not api_key:
        raise p.unauthorized("Missing x-api-key header")
    key = session.get(ApiKey, api_key) if len(api_key) <= 128 else None
    if key is None:
        raise p.unauthorized("Invalid API key")
    return key


def require(key: ApiKey, permission: str, detail: str) -> None:
    """A key without `permission` gets 401 with `detail` (the guide's status for this case)."""
    if permission not in key.permissions:
        raise p.unauthorized(detail)
