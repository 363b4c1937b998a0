"""The composition root: one sandbox instance's services, built from a Runtime, with the work that spans them
(prepare, reset, the journal, settling what fell due). No Flask here: `simulator.app` serves it."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Any

from sqlalchemy.exc import SQLAlchemyError

from simulator import (
    models,  # noqa: F401  (every table on the metadata: schema, reset)
    seed,
)
from simulator.core import journal
from simulator.core.runtime import Runtime
from simulator.dakota import events as dakota_events
from simulator.dakota.backend import Dakota
from simulator.faults import Faults
from simulator.sumsub import notify as sumsub_notify
from simulator.sumsub.backend import Sumsub
from simulator.webhooks.delivery import Deliverer, Dispatcher
from simulator.webhooks.outbox import Outbox

log = logging.getLogger("simulator")
EXTENSION = "kyc_sandbox"  # where the app keeps its Sandbox: `app.extensions[EXTENSION]`
JOURNAL_FLUSH_SECONDS = 0.5  # the dispatcher's poll interval: how stale another worker's journal rows can be


@dataclass
class Sandbox:
    """Everything one sandbox instance holds (the composition root); lives in `app.extensions['kyc_sandbox']`."""

    rt: Runtime
    outbox: Outbox
    deliverer: Deliverer
    sumsub: Sumsub
    dakota: Dakota
    faults: Faults
    journal: journal.JournalBuffer
    dispatcher: Dispatcher

    @classmethod
    def build(cls, rt: Runtime) -> Sandbox:
        outbox = Outbox(rt, {})
        sumsub = Sumsub.build(rt, outbox)
        faults = Faults(rt)
        dakota = Dakota.build(rt, sumsub, outbox, faults)
        outbox.channels.update(
            {sumsub_notify.KIND: sumsub.notifier.channel(), dakota_events.KIND: dakota.events.channel()}
        )
        sb = cls(
            rt=rt,
            outbox=outbox,
            deliverer=Deliverer(outbox),
            sumsub=sumsub,
            dakota=dakota,
            faults=faults,
            journal=journal.JournalBuffer(rt.settings.journal_size),
            dispatcher=Dispatcher(lambda _kicked: None),
        )
        sb.dispatcher = Dispatcher(lambda kicked: sb.tick(kicked=kicked))
        return sb

    def prepare(self) -> None:
        """Create the schema and seed an empty store."""
        self.rt.store.create_schema()
        with self.rt.store.write() as tx:
            self.rt.store.lock_for_prepare(tx)  # replicas starting together seed once
            seed.ensure_seeded(tx)
            self.dakota.events.ensure_key(tx)

    def reset(self) -> None:
        """Back to the seeded state: every applicant, token, customer and journal row gone, clock real time.

        The webhook signing key survives: receivers are configured with it, and every worker keeps it cached.
        """
        self.rt.ids.reseed(self.rt.settings.seed)
        self.journal.clear()
        with self.rt.store.write() as tx:
            key = self.rt.store.get_state(tx, dakota_events.KEY_STATE)
            seed.wipe(tx)
            seed.seed(tx)
            self.rt.clock.reset(tx)
            if key is not None:
                self.rt.store.put_state(tx, dakota_events.KEY_STATE, key)
            self.dakota.events.ensure_key(tx)

    def flush_journal(self) -> None:
        """Write this process's pending journal entries: in one batch, or, should the batch fail, one by one, so
        that an entry the store refuses costs only itself."""
        rows = self.journal.take()
        if not rows:
            return
        size = self.rt.settings.journal_size
        try:
            with self.rt.store.write() as tx:
                journal.write_many(tx, size, rows)
            return
        except SQLAlchemyError:
            log.warning("journal batch refused; writing its %d entries one by one", len(rows), exc_info=True)
        for row in rows:
            try:
                with self.rt.store.write() as tx:
                    journal.write_many(tx, size, [row])
            except SQLAlchemyError:
                log.warning("journal entry dropped: %r", row, exc_info=True)

    def tick(self, *, kicked: bool = False) -> list[dict[str, Any]]:
        """Flush this process's journal, settle what is due on the simulated clock, then deliver due webhooks.

        A kick (every POST wakes the dispatcher) leaves a journal flushed less than a poll interval ago alone: a
        journal write per request would compete with the requests' own writes.
        """
        if not kicked or time.monotonic() - self.journal.flushed_at >= JOURNAL_FLUSH_SECONDS:
            self.flush_journal()
        fired = self.dakota.onboarding.settle_due()
        fired.extend(a.to_dict() for a in self.deliverer.dispatch_due())
        if not kicked:
            self.rt.store.checkpoint()  # off the request path (see WAL_AUTOCHECKPOINT_PAGES)
        return fired

    def close(self) -> None:
        self.dispatcher.stop()
        self.rt.store.dispose()
