"""Dakota API-key authentication and permissions."""

from __future__ import annotations

import threading
import time

from simulator.core.store import Store
from simulator.dakota import errors as p
from simulator.dakota import queries as q

MANAGE_COMPLIANCE_APPLICATIONS = "manage_compliance_applications"

# API keys are seed rows: a reset wipes and re-inserts the same ones, nothing else changes them. Every request
# looked its key up (a SELECT); a known key is kept per process for at most KEY_TTL_SECONDS, so a reset in another
# worker is seen within that time. Unknown keys are never cached: a key that appears is found at once.
KEY_TTL_SECONDS = 1.0
_keys: dict[tuple[int, str], tuple[float, q.KeyRow]] = {}
_keys_lock = threading.Lock()


def authenticate(store: Store, api_key: str | None) -> q.KeyRow:
    """The `x-api-key` header → its key; 401 problem when missing or unknown."""
    if not api_key:
        raise p.unauthorized("Missing x-api-key header")
    if len(api_key) > 128:
        raise p.unauthorized("Invalid API key")
    cache_key = (id(store), api_key)
    hit = _keys.get(cache_key)
    if hit is not None and time.monotonic() - hit[0] < KEY_TTL_SECONDS:
        return hit[1]
    key = q.api_key(store, api_key)
    if key is None:
        raise p.unauthorized("Invalid API key")
    with _keys_lock:
        if len(_keys) > 1000:  # a bound: many stores in one process (tests)
            _keys.clear()
        _keys[cache_key] = (time.monotonic(), key)
    return key


def require(key: q.KeyRow, permission: str, detail: str) -> None:
    """A key without `permission` gets 401 with `detail` (the guide's status for this case)."""
    if permission not in key.permissions:
        raise p.unauthorized(detail)
