"""The runtime a sandbox instance shares between its services: settings, store, clock, ids."""

from __future__ import annotations

from dataclasses import dataclass

from simulator.core.clock import Clock
from simulator.core.ids import Ids
from simulator.core.store import Store
from simulator.settings import Settings


@dataclass
class Runtime:
    settings: Settings
    store: Store
    clock: Clock
    ids: Ids

    @classmethod
    def build(cls, settings: Settings, *, worker_salt: int | None = None) -> Runtime:
        """`worker_salt`: set by the server in each worker process, so seeded id streams never collide."""
        store = Store(settings.database_url)
        ids = Ids(settings.seed)
        if worker_salt is not None:
            ids.reseed(settings.seed, worker_salt)
        return cls(settings=settings, store=store, clock=Clock(store), ids=ids)
