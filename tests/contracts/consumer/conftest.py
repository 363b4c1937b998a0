"""Pact consumer tests: the reference clients (and an integrator-style webhook handler) against Pact mock servers.

Each test records its interactions in a fresh `Pact` (a Pact freezes once served) and writes it to
`contracts/pacts/` in teardown; `write_file` merges, so this run first removes the files these consumers own.
The provider side (tests/contracts/provider) verifies the sandbox against what is written here.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from pact import Pact

from tests.support.pact import DAKOTA_CONSUMER, OWNED_PACT_FILES, PACT_DIR, SUMSUB_CONSUMER, WEBHOOKS

os.environ.setdefault("PACT_DO_NOT_TRACK", "true")


@pytest.fixture(scope="session", autouse=True)
def _fresh_pact_files() -> None:
    """Start from no pact files of ours, so a renamed or removed interaction does not linger in the merge."""
    PACT_DIR.mkdir(parents=True, exist_ok=True)
    for name in OWNED_PACT_FILES:
        (PACT_DIR / name).unlink(missing_ok=True)


def _pact(consumer: str, provider: str) -> Iterator[Pact]:
    pact = Pact(consumer, provider).with_specification("V4")
    yield pact
    pact.write_file(PACT_DIR)


@pytest.fixture
def sumsub_pact() -> Iterator[Pact]:
    yield from _pact(SUMSUB_CONSUMER, "sumsub")


@pytest.fixture
def dakota_pact() -> Iterator[Pact]:
    yield from _pact(DAKOTA_CONSUMER, "dakota")


@pytest.fixture
def dakota_events_pact() -> Iterator[Pact]:
    yield from _pact(WEBHOOKS, "dakota")


@pytest.fixture
def sumsub_webhooks_pact() -> Iterator[Pact]:
    yield from _pact(WEBHOOKS, "sumsub")
