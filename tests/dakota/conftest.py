"""Dakota fixtures: imported customers to read back."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support import Kit


@pytest.fixture
def three_customers(kit: Kit) -> list[dict[str, Any]]:
    """Olivia Bennett, James Carter, Ana García: imported once; rows in import order."""
    body = kit.bulk([kit.token("gb-passport"), kit.token("us-ssn"), kit.token("residence-permit")])
    assert body["succeeded"] == 3
    rows: list[dict[str, Any]] = body["results"]
    return rows
