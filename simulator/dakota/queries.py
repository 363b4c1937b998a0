"""Every statement of the Dakota fake, and the typed rows they return.

Customers, applications and events are read and written as rows (dataclasses named after their columns): services
compute new values and save the fields they changed. Webhook targets are few and edited whole: ORM entities.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any, cast

from sqlalchemy import Table, bindparam, func, select, update

from simulator.core.driver import prebuilt
from simulator.core.store import Store
from simulator.core.tx import Tx
from simulator.dakota.models import ApiKey, Application, Customer, DakotaEvent, IdempotencyRecord, WebhookTarget

CUSTOMERS = cast(Table, Customer.__table__)
APPLICATIONS = cast(Table, Application.__table__)
EVENTS = cast(Table, DakotaEvent.__table__)
KEYS = cast(Table, ApiKey.__table__)
IDEMPOTENCY = cast(Table, IdempotencyRecord.__table__)
TARGETS = cast(Table, WebhookTarget.__table__)


def _names(row_type: type) -> tuple[str, ...]:
    return tuple(f.name for f in fields(row_type))


# ---------------------------------------------------------------------------------------------- API keys
@dataclass(frozen=True)
class KeyRow:
    key: str
    organization_id: str
    role: str
    permissions: list[str]
    name: str

    def to_credentials(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "role": self.role,
            "permissions": list(self.permissions),
            "organization_id": self.organization_id,
            "name": self.name,
        }


_KEY_COLUMNS = tuple(KEYS.c[n] for n in _names(KeyRow))
# Statements are built once (with bound parameters): building one costs three times what running it does.
_KEY = prebuilt(select(*_KEY_COLUMNS).where(KEYS.c.key == bindparam("key")))


def api_key(store: Store, key: str) -> KeyRow | None:
    row = store.query(_KEY, {"key": key})
    return KeyRow(**row) if row is not None else None


def api_keys(tx: Tx) -> list[KeyRow]:
    return [KeyRow(**r) for r in tx.mappings(select(*_KEY_COLUMNS).order_by(KEYS.c.organization_id, KEYS.c.role))]


# ---------------------------------------------------------------------------------------------- customers
@dataclass
class CustomerRow:
    id: str
    organization_id: str
    name: str
    email: str | None
    customer_type: str
    kyb_status: str
    external_id: str | None
    application_id: str | None
    source: str
    created_at: float
    updated_at: float

    def values(self) -> dict[str, Any]:
        return {n: getattr(self, n) for n in _names(CustomerRow)}


_CUSTOMER_COLUMNS = tuple(CUSTOMERS.c[n] for n in _names(CustomerRow))


@dataclass
class ApplicationRow:
    """An application; `individual` holds the primary individual's entity fields."""

    id: str
    organization_id: str
    customer_id: str
    application_type: str
    status: str
    decision: str | None
    decision_method: str | None
    token: str
    individual_id: str
    individual: dict[str, Any]
    sumsub: dict[str, Any] | None
    documents: list[Any]
    attestations: dict[str, Any]
    flags: dict[str, Any]
    version: int
    created_at: float
    updated_at: float
    submitted_at: float | None
    auto_decide_at: float | None
    expires_at: float

    def values(self) -> dict[str, Any]:
        return {n: getattr(self, n) for n in _names(ApplicationRow)}


_APPLICATION_COLUMNS = tuple(APPLICATIONS.c[n] for n in _names(ApplicationRow))


@dataclass(frozen=True)
class ApplicationState:
    """What a customer's shape and listings need of its application."""

    id: str
    status: str
    decision: str | None
    token: str


_STATE_COLUMNS = tuple(APPLICATIONS.c[n] for n in _names(ApplicationState))


_CUSTOMER_VIEW = prebuilt(
    select(*_CUSTOMER_COLUMNS, *(c.label(f"app_{c.key}") for c in _STATE_COLUMNS))
    .select_from(CUSTOMERS.outerjoin(APPLICATIONS, APPLICATIONS.c.id == CUSTOMERS.c.application_id))
    .where(CUSTOMERS.c.id == bindparam("id"))
)
_CUSTOMER = prebuilt(select(*_CUSTOMER_COLUMNS).where(CUSTOMERS.c.id == bindparam("id")))
_CUSTOMER_LOCKED = prebuilt(_CUSTOMER.with_for_update())


def customer_view(store: Store, customer_id: str) -> tuple[CustomerRow, ApplicationState | None] | None:
    """A customer and its application's state, in one statement outside any transaction (GET /customers/{id})."""
    row = store.query(_CUSTOMER_VIEW, {"id": customer_id})
    if row is None:
        return None
    m = row
    customer = CustomerRow(**{c.key: m[c.key] for c in _CUSTOMER_COLUMNS})
    app = ApplicationState(**{c.key: m[f"app_{c.key}"] for c in _STATE_COLUMNS}) if m["app_id"] else None
    return customer, app


def customer(tx: Tx, customer_id: str, *, for_update: bool = False) -> CustomerRow | None:
    row = tx.mapping(_CUSTOMER_LOCKED if for_update and tx.locks_rows else _CUSTOMER, {"id": customer_id})
    return CustomerRow(**row) if row is not None else None


def customers(tx: Tx, organization_id: str, external_id: str | None = None) -> list[CustomerRow]:
    q = select(*_CUSTOMER_COLUMNS).where(CUSTOMERS.c.organization_id == organization_id)
    if external_id is not None:
        q = q.where(CUSTOMERS.c.external_id == external_id)
    return [CustomerRow(**r) for r in tx.mappings(q)]


def insert_customer(tx: Tx, c: CustomerRow, *, later: bool = False) -> None:
    (tx.insert_later if later else tx.insert)(CUSTOMERS, c.values())


def save_customer(tx: Tx, c: CustomerRow, *names: str) -> None:
    _save(tx, CUSTOMERS, c.id, {n: getattr(c, n) for n in names})


# ---------------------------------------------------------------------------------------------- applications
_APPLICATION = prebuilt(select(*_APPLICATION_COLUMNS).where(APPLICATIONS.c.id == bindparam("id")))
_APPLICATION_LOCKED = prebuilt(_APPLICATION.with_for_update())
_TOKEN_KNOWN = prebuilt(select(APPLICATIONS.c.id).where(APPLICATIONS.c.token == bindparam("token")))
_SAVES: dict[tuple[Table, tuple[str, ...]], Any] = {}


def application(tx: Tx, application_id: str, *, for_update: bool = False) -> ApplicationRow | None:
    row = tx.mapping(_APPLICATION_LOCKED if for_update and tx.locks_rows else _APPLICATION, {"id": application_id})
    return ApplicationRow(**row) if row is not None else None


def application_outside_tx(store: Store, application_id: str) -> ApplicationRow | None:
    """An application in one statement outside any transaction (GET /applications/{id})."""
    row = store.query(_APPLICATION, {"id": application_id})
    return ApplicationRow(**row) if row is not None else None


def token_known(store: Store, token: str) -> bool:
    return store.query(_TOKEN_KNOWN, {"token": token}) is not None


def _save(tx: Tx, table: Table, row_id: str, values: dict[str, Any]) -> None:
    """UPDATE the row's named columns (one statement per table and set of columns, built once)."""
    names = tuple(values)
    stmt = _SAVES.get((table, names))
    if stmt is None:
        bound = {n: bindparam(f"v_{n}", type_=table.c[n].type) for n in names}
        stmt = _SAVES[(table, names)] = prebuilt(update(table).where(table.c.id == bindparam("b_id")).values(bound))
    tx.run(stmt, {"b_id": row_id, **{f"v_{n}": v for n, v in values.items()}})


def application_states(tx: Tx, organization_id: str) -> dict[str, ApplicationState]:
    rows = tx.mappings(select(*_STATE_COLUMNS).where(APPLICATIONS.c.organization_id == organization_id))
    return {r["id"]: ApplicationState(**r) for r in rows}


@dataclass(frozen=True)
class ApplicationListRow:
    id: str
    application_type: str
    status: str
    created_at: float


def application_list(tx: Tx, organization_id: str) -> list[ApplicationListRow]:
    cols = tuple(APPLICATIONS.c[n] for n in _names(ApplicationListRow))
    return [
        ApplicationListRow(**r)
        for r in tx.mappings(select(*cols).where(APPLICATIONS.c.organization_id == organization_id))
    ]


def applications(tx: Tx, ids: list[str]) -> dict[str, ApplicationRow]:
    if not ids:
        return {}
    rows = tx.mappings(select(*_APPLICATION_COLUMNS).where(APPLICATIONS.c.id.in_(ids)))
    return {r["id"]: ApplicationRow(**r) for r in rows}


def due_for_auto_decision(tx: Tx, now: float) -> list[ApplicationRow]:
    """Submitted applications whose auto-approval is due (locked, skipping those another worker holds)."""
    q = select(*_APPLICATION_COLUMNS).where(
        APPLICATIONS.c.status == "submitted",
        APPLICATIONS.c.auto_decide_at.is_not(None),
        APPLICATIONS.c.auto_decide_at <= now,
    )
    if tx.locks_rows:
        q = q.with_for_update(skip_locked=True)
    return [ApplicationRow(**r) for r in tx.mappings(q)]


def any_due_for_auto_decision(store: Store, now: float) -> bool:
    q = (
        select(APPLICATIONS.c.id)
        .where(
            APPLICATIONS.c.status == "submitted",
            APPLICATIONS.c.auto_decide_at.is_not(None),
            APPLICATIONS.c.auto_decide_at <= now,
        )
        .limit(1)
    )
    return store.query(q) is not None


def insert_application(tx: Tx, a: ApplicationRow, *, later: bool = False) -> None:
    (tx.insert_later if later else tx.insert)(APPLICATIONS, a.values())


def save_application(tx: Tx, a: ApplicationRow, *names: str) -> None:
    _save(tx, APPLICATIONS, a.id, {n: getattr(a, n) for n in names})


# ---------------------------------------------------------------------------------------------- events
@dataclass(frozen=True)
class EventRow:
    id: str
    organization_id: str
    type: str
    created: float
    envelope: dict[str, Any]
    simulation_id: str | None
    replay_count: int
    seq: int


_EVENT_COLUMNS = tuple(EVENTS.c[n] for n in _names(EventRow))


# max(seq) of an organisation's events: one step of the (organization_id, seq) index, read by every import.
LAST_EVENT_SEQ = prebuilt(select(func.max(EVENTS.c.seq)).where(EVENTS.c.organization_id == bindparam("org")))


def last_event_seq(tx: Tx, organization_id: str) -> int:
    return int(tx.scalar(LAST_EVENT_SEQ, {"org": organization_id}) or 0)


def insert_event(tx: Tx, e: EventRow) -> None:
    """Queued until the transaction ends (nothing reads an event back in the transaction that emits it)."""
    tx.insert_later(EVENTS, {n: getattr(e, n) for n in _names(EventRow)})


def event(tx: Tx, event_id: str) -> EventRow | None:
    row = tx.mapping(select(*_EVENT_COLUMNS).where(EVENTS.c.id == event_id))
    return EventRow(**row) if row is not None else None


def count_replay(tx: Tx, event_id: str) -> None:
    tx.execute(update(EVENTS).where(EVENTS.c.id == event_id).values(replay_count=EVENTS.c.replay_count + 1))


def event_ids(tx: Tx, organization_id: str) -> list[str]:
    """The organisation's event ids, newest first (ids only: every page reads the whole list)."""
    return tx.scalars(
        select(EVENTS.c.id).where(EVENTS.c.organization_id == organization_id).order_by(EVENTS.c.seq.desc())
    )


def envelopes(tx: Tx, ids: list[str]) -> dict[str, dict[str, Any]]:
    if not ids:
        return {}
    rows = tx.mappings(select(EVENTS.c.id, EVENTS.c.envelope).where(EVENTS.c.id.in_(ids)))
    return {r["id"]: r["envelope"] for r in rows}


def replay_counts(tx: Tx, ids: list[str]) -> dict[str, int]:
    if not ids:
        return {}
    rows = tx.mappings(select(EVENTS.c.id, EVENTS.c.replay_count).where(EVENTS.c.id.in_(ids)))
    return {r["id"]: int(r["replay_count"]) for r in rows}


# ---------------------------------------------------------------------------------------------- webhook targets
@dataclass(frozen=True)
class TargetRoute:
    """What routing an event needs of a webhook target (immutable: kept per process between transactions)."""

    id: str
    url: str
    global_: bool
    event_types: tuple[str, ...]

    def wants(self, event_type: str) -> bool:
        return self.global_ or event_type in self.event_types


_ROUTES = (
    select(TARGETS.c.id, TARGETS.c.url, TARGETS.c["global"].label("global_"), TARGETS.c.event_types)
    .where(TARGETS.c.organization_id == bindparam("org"))
    .order_by(TARGETS.c.id)
)


def target_routes(tx: Tx, organization_id: str) -> list[TargetRoute]:
    rows = tx.mappings(_ROUTES, {"org": organization_id})
    return [TargetRoute(r["id"], r["url"], bool(r["global_"]), tuple(r["event_types"] or ())) for r in rows]


def target(tx: Tx, target_id: str) -> WebhookTarget | None:
    return tx.get(WebhookTarget, target_id, for_update=True)


def targets(tx: Tx, organization_id: str) -> list[WebhookTarget]:
    return tx.scalars(
        select(WebhookTarget).where(WebhookTarget.organization_id == organization_id).order_by(WebhookTarget.id)
    )


def touch_target(tx: Tx, target_id: str, *, delivered: bool, now: float) -> None:
    values: dict[str, Any] = {"time_last_attempted": now}
    if delivered:
        values["time_last_healthy"] = now
    tx.execute(update(TARGETS).where(TARGETS.c.id == target_id).values(values))


# ---------------------------------------------------------------------------------------------- idempotency records
@dataclass(frozen=True)
class IdempotencyRow:
    created_at: float
    body_sha256: str
    path: str
    method: str
    state: str
    status_code: int | None
    response: dict[str, Any] | None
    lease_until: float


_IDEMPOTENCY_COLUMNS = tuple(IDEMPOTENCY.c[n] for n in _names(IdempotencyRow))


def _record_key(owner: str, key: str) -> Any:
    return (IDEMPOTENCY.c.api_key == owner) & (IDEMPOTENCY.c.idempotency_key == key)


_RECORD_KEY = (IDEMPOTENCY.c.api_key == bindparam("owner")) & (IDEMPOTENCY.c.idempotency_key == bindparam("key"))
_RECORD = prebuilt(select(*_IDEMPOTENCY_COLUMNS).where(_RECORD_KEY))
_RECORD_UPDATES: dict[tuple[tuple[str, ...], bool], Any] = {}


def idempotency_record(tx: Tx, owner: str, key: str) -> IdempotencyRow | None:
    row = tx.mapping(_RECORD, {"owner": owner, "key": key})
    return IdempotencyRow(**row) if row is not None else None


def insert_idempotency_record(tx: Tx, values: dict[str, Any]) -> None:
    """Inserted now: a concurrent claim of the same key meets the unique key (IntegrityError) at once."""
    tx.insert(IDEMPOTENCY, values)


def delete_idempotency_record(tx: Tx, owner: str, key: str) -> None:
    tx.execute(IDEMPOTENCY.delete().where(_record_key(owner, key)))


def update_idempotency_record(
    tx: Tx, owner: str, key: str, *, only_if_lease: float | None = None, **values: Any
) -> int:
    """Update a record (with `only_if_lease`: only while its lease is still that value); how many rows changed."""
    shape = (tuple(values), only_if_lease is not None)
    stmt = _RECORD_UPDATES.get(shape)
    if stmt is None:  # one statement per set of columns (and lease condition), built once
        where = _RECORD_KEY & (IDEMPOTENCY.c.lease_until == bindparam("lease")) if shape[1] else _RECORD_KEY
        bound = {n: bindparam(f"v_{n}", type_=IDEMPOTENCY.c[n].type) for n in values}
        stmt = _RECORD_UPDATES[shape] = prebuilt(update(IDEMPOTENCY).where(where).values(bound))
    params = {"owner": owner, "key": key, "lease": only_if_lease, **{f"v_{n}": v for n, v in values.items()}}
    return tx.rowcount(stmt, params)
