"""Dakota tables: API keys, customers, applications, idempotency records, webhook targets and events."""

from __future__ import annotations

from typing import Any

from sqlalchemy import JSON, Boolean, Float, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from simulator.core.store import Base


class ApiKey(Base):
    __tablename__ = "dakota_api_keys"
    key: Mapped[str] = mapped_column(String(128), primary_key=True)
    organization_id: Mapped[str] = mapped_column(String(27), index=True)
    role: Mapped[str] = mapped_column(String(32))
    permissions: Mapped[list[Any]] = mapped_column(JSON, default=list)
    name: Mapped[str] = mapped_column(String(128), default="")


class Customer(Base):
    __tablename__ = "dakota_customers"
    id: Mapped[str] = mapped_column(String(27), primary_key=True)
    organization_id: Mapped[str] = mapped_column(String(27), index=True)
    name: Mapped[str] = mapped_column(String(256))
    email: Mapped[str | None] = mapped_column(String(320), nullable=True)
    customer_type: Mapped[str] = mapped_column(String(16))
    kyb_status: Mapped[str] = mapped_column(String(32), default="pending")
    external_id: Mapped[str | None] = mapped_column(String(256), nullable=True)
    application_id: Mapped[str | None] = mapped_column(String(27), nullable=True)
    source: Mapped[str] = mapped_column(String(32), default="api")
    created_at: Mapped[float] = mapped_column(Float)
    updated_at: Mapped[float] = mapped_column(Float)


class Application(Base):
    """An onboarding application. `individual` holds the primary individual's entity fields."""

    __tablename__ = "dakota_applications"
    id: Mapped[str] = mapped_column(String(27), primary_key=True)
    organization_id: Mapped[str] = mapped_column(String(27), index=True)
    customer_id: Mapped[str] = mapped_column(ForeignKey("dakota_customers.id"), index=True)
    application_type: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(32), default="pending")
    decision: Mapped[str | None] = mapped_column(String(32), nullable=True)
    decision_method: Mapped[str | None] = mapped_column(String(16), nullable=True)
    token: Mapped[str] = mapped_column(String(128), unique=True)
    individual_id: Mapped[str] = mapped_column(String(27))
    individual: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    sumsub: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    documents: Mapped[list[Any]] = mapped_column(JSON, default=list)
    attestations: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # Fields the import could not fill from Sumsub (e.g. a placeholder address), for validation.
    flags: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[float] = mapped_column(Float)
    updated_at: Mapped[float] = mapped_column(Float)
    submitted_at: Mapped[float | None] = mapped_column(Float, nullable=True)
    # Set at submission when the sandbox auto-approves after a delay (simulated clock).
    auto_decide_at: Mapped[float | None] = mapped_column(Float, nullable=True, index=True)
    expires_at: Mapped[float] = mapped_column(Float)


class IdempotencyRecord(Base):
    """One POST per (API key, x-idempotency-key): in flight, then its stored response."""

    __tablename__ = "dakota_idempotency"
    api_key: Mapped[str] = mapped_column(String(128), primary_key=True)
    idempotency_key: Mapped[str] = mapped_column(String(64), primary_key=True)
    method: Mapped[str] = mapped_column(String(8))
    path: Mapped[str] = mapped_column(Text)
    body_sha256: Mapped[str] = mapped_column(String(64))
    state: Mapped[str] = mapped_column(String(16))  # "in_flight" | "done"
    status_code: Mapped[int | None] = mapped_column(Integer, nullable=True)
    response: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    created_at: Mapped[float] = mapped_column(Float)
    lease_until: Mapped[float] = mapped_column(Float)


class WebhookTarget(Base):
    """A Dakota webhook target of one organisation."""

    __tablename__ = "dakota_webhook_targets"
    id: Mapped[str] = mapped_column(String(27), primary_key=True)
    organization_id: Mapped[str] = mapped_column(String(27), index=True)
    url: Mapped[str] = mapped_column(Text)
    global_: Mapped[bool] = mapped_column("global", Boolean, default=False)
    event_types: Mapped[list[Any]] = mapped_column(JSON, default=list)
    created_at: Mapped[float] = mapped_column(Float)
    time_last_healthy: Mapped[float] = mapped_column(Float)
    time_last_attempted: Mapped[float] = mapped_column(Float)


class DakotaEvent(Base):
    """One Dakota event: the `Event` envelope, as `GET /events` lists it and webhooks carry it."""

    __tablename__ = "dakota_events"
    # The next event's seq is max(seq) of its organisation, read by every import: an index on the organisation
    # alone made that a scan of all its events (3 ms at 20,000 events); this one makes it one index step.
    __table_args__ = (Index("ix_dakota_events_org_seq", "organization_id", "seq"),)
    id: Mapped[str] = mapped_column(String(27), primary_key=True)
    organization_id: Mapped[str] = mapped_column(String(27))
    type: Mapped[str] = mapped_column(String(64))
    created: Mapped[float] = mapped_column(Float)
    envelope: Mapped[dict[str, Any]] = mapped_column(JSON)
    simulation_id: Mapped[str | None] = mapped_column(String(128), nullable=True)
    replay_count: Mapped[int] = mapped_column(Integer, default=0)
    # Emission order within an organisation (several events can share one clock instant).
    seq: Mapped[int] = mapped_column(Integer, default=0)
