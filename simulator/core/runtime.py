"""The runtime a sandbox instance shares between its services: settings, store, clock, ids."""

from __future__ import annotations

import os
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
    def build(cls, settings: Settings) -> Runtime:
        store = Store(settings.database_url)
        ids = Ids(settings.seed)
        # Set by the server in each forked worker so seeded id streams never collide across workers.
        salt = os.environ.get("SANDBOX_WORKER_SALT", "")
        if salt.isdigit():
            ids.reseed(settings.seed, int(salt))
        return cls(settings=settings, store=store, clock=Clock(store), ids=ids)
