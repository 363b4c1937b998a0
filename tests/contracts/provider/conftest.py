"""Provider verification: the sandbox against the pacts in contracts/pacts (run after tests/contracts/consumer)."""

from __future__ import annotations

import os

os.environ.setdefault("PACT_DO_NOT_TRACK", "true")
