"""Dakota API-key authentication and permissions."""

from __future__ import annotations

import threading
import time
from typing import Any

from sqlalchemy.orm import Session

from simulator.core.store import Store
from simulator.dakota import problems as p
from simulator.dakota.models import ApiKey

MANAGE_COMPLIANCE_APPLICATIONS = "manage_compliance_applications"

# API keys are seed rows: a reset wipes and re-inserts the same ones, nothing else changes them. Every request
# looked its key up (a SELECT); a known key is kept per process for at most KEY_TTL_SECONDS, so a reset in another
# worker is seen within that time. Unknown keys are never cached: a key that appears is found at once.
KEY_TTL_SECONDS = 1.0
_keys: dict[tuple[int, str], tuple[float, ApiKey]] = {}
_keys_lock = threading.Lock()


def authenticate(session: Session, api_key: str | None) -> ApiKey:
    """The `x-api-key` header → its key record; 401 problem when missing or unknown."""
    hit = _cached(session.bind, api_key)
    return hit if hit is not None else _load(session, session.bind, api_key)


def authenticate_in(store: Store, api_key: str | None) -> ApiKey:
    """`authenticate` outside a transaction: the store is read only when the key is not cached."""
    hit = _cached(store.engine, api_key)
    if hit is not None:
        return hit
    with store.read() as session:
        return _load(session, store.engine, api_key)


def _cached(bind: Any, api_key: str | None) -> ApiKey | None:
    if not api_key:
        raise p.unauthorized("Missing x-api-key header")
    if len(api_key) > 128:
        raise p.unauthorized("Invalid API key")
    hit = _keys.get((id(bind), api_key))
    if hit is not None and time.monotonic() - hit[0] < KEY_TTL_SECONDS:
        return hit[1]
    return None


def _load(session: Session, bind: Any, api_key: str | None) -> ApiKey:
    key = session.get(ApiKey, api_key)
    if key is None:
        raise p.unauthorized("Invalid API key")
    # A copy belonging to no session: the loaded row is expired if its transaction rolls back.
    copy = ApiKey(
        key=key.key,
        organization_id=key.organization_id,
        role=key.role,
        permissions=list(key.permissions),
        name=key.name,
    )
    with _keys_lock:
        if len(_keys) > 1000:  # a bound: many stores in one process (tests)
            _keys.clear()
        _keys[(id(bind), key.key)] = (time.monotonic(), copy)
    return copy


def require(key: ApiKey, permission: str, detail: str) -> None:
    """A key without `permission` gets 401 with `detail` (the guide's status for this case)."""
    if permission not in key.permissions:
        raise p.unauthorized(detail)
