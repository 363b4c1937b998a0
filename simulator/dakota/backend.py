"""The Dakota fake's services, built once per sandbox (the routes and the control plane use these)."""

from __future__ import annotations

from dataclasses import dataclass

from simulator.core.runtime import Runtime
from simulator.dakota.applications import Applications
from simulator.dakota.events import Events
from simulator.dakota.idempotency import Idempotency
from simulator.dakota.importer import BulkImporter
from simulator.dakota.onboarding import Onboarding
from simulator.faults import Faults
from simulator.sumsub.backend import Sumsub
from simulator.webhooks.outbox import Outbox


@dataclass(frozen=True)
class Dakota:
    rt: Runtime
    applications: Applications
    events: Events
    onboarding: Onboarding
    importer: BulkImporter
    idempotency: Idempotency

    @classmethod
    def build(cls, rt: Runtime, sumsub: Sumsub, outbox: Outbox, faults: Faults) -> Dakota:
        applications = Applications(rt)
        events = Events(rt, outbox)
        idempotency = Idempotency(rt)
        return cls(
            rt=rt,
            applications=applications,
            events=events,
            onboarding=Onboarding(rt, applications, events, sumsub),
            importer=BulkImporter(rt, sumsub, applications, events, idempotency, faults),
            idempotency=idempotency,
        )
