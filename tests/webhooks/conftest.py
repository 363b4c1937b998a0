"""Webhook receivers: local HTTP servers that record what they receive (and answer as scripted)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from simulator.harness.receiver import WebhookReceiver


@pytest.fixture
def rx() -> Iterator[WebhookReceiver]:
    with WebhookReceiver() as receiver:
        yield receiver


@pytest.fixture
def rx2() -> Iterator[WebhookReceiver]:
    with WebhookReceiver() as receiver:
        yield receiver
