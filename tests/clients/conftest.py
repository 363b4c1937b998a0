"""Vendor SDKs run unmodified against the sandbox: the Node ones from tests/clients/node (`npm ci` by `make test`).

Without `node` (or its installed packages) the Node tests skip, unless KYC_SANDBOX_REQUIRE_NODE=1 (CI), where they fail.
"""

from __future__ import annotations

import os
import shutil

import pytest

from tests.support.node import node_missing


@pytest.fixture(scope="session")
def node() -> str:
    """The `node` executable, with tests/clients/node's packages installed."""
    missing = node_missing()
    if missing:
        if os.environ.get("KYC_SANDBOX_REQUIRE_NODE") == "1":
            pytest.fail(f"KYC_SANDBOX_REQUIRE_NODE=1 but {missing}", pytrace=False)
        pytest.skip(missing)
    return str(shutil.which("node"))
