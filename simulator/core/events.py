"""How the fakes hand webhooks to the outbox without knowing it: a delivery to queue, and the sink that takes it.

Sumsub's and Dakota's services build their payloads and signing is theirs (`Channel`); the webhooks package
(the outbox and its dispatcher) stores, signs and delivers them, knowing neither API.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Protocol

from simulator.core.tx import Tx


@dataclass(frozen=True)
class Outgoing:
    """One payload to POST to one URL, queued in the transaction that caused it."""

    kind: str  # the channel: "dakota" | "sumsub"
    owner: str  # who it belongs to: a Dakota organisation, a Sumsub client
    event_id: str
    event_type: str
    url: str
    body: str  # the exact JSON sent (and signed)
    target_id: str | None = None
    simulation_id: str | None = None
    replay: bool = False


class Outbox(Protocol):
    """Where services queue webhooks (the same transaction as the change that caused them)."""

    def queue(self, tx: Tx, items: list[Outgoing]) -> list[str]:
        """Queue the deliveries; returns their ids."""
        ...


@dataclass(frozen=True)
class Delivery:
    """What a channel's signer sees of a delivery attempt."""

    owner: str
    event_id: str
    event_type: str
    replay: bool


@dataclass(frozen=True)
class Channel:
    """A fake's webhook conventions: its retry schedule (seconds after each failed attempt, on the simulated
    clock), the headers that sign a body, and what it records of each attempt (in the recording transaction:
    target id, delivered, when)."""

    retry_delays: tuple[int, ...]
    sign: Callable[[Delivery, bytes], Mapping[str, str]]
    on_attempt: Callable[[Tx, str | None, bool, float], None] | None = None
