"""Sumsub tables: clients (workspaces), partnerships, levels, applicants, ID documents, share tokens."""

from __future__ import annotations

from typing import Any

from sqlalchemy import JSON, Float, ForeignKey, Index, Integer, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from simulator.core.store import Base


class SumsubClient(Base):
    """A Sumsub workspace with one app token; its applicants are invisible to other clients."""

    __tablename__ = "sumsub_clients"
    client_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    app_token: Mapped[str] = mapped_column(String(128), unique=True)
    secret_key: Mapped[str] = mapped_column(String(128))
    role: Mapped[str] = mapped_column(String(16))  # "recipient" | "donor"
    name: Mapped[str] = mapped_column(String(128))
    key: Mapped[str] = mapped_column(String(32))
    webhook_url: Mapped[str | None] = mapped_column(Text, nullable=True)
    webhook_secret: Mapped[str | None] = mapped_column(String(128), nullable=True)
    webhook_alg: Mapped[str | None] = mapped_column(String(32), nullable=True)


class Partnership(Base):
    """A Reusable KYC agreement: `donor_client_id` may mint share tokens for `recipient_client_id`."""

    __tablename__ = "sumsub_partnerships"
    donor_client_id: Mapped[str] = mapped_column(ForeignKey("sumsub_clients.client_id"), primary_key=True)
    recipient_client_id: Mapped[str] = mapped_column(ForeignKey("sumsub_clients.client_id"), primary_key=True)


class Level(Base):
    """A verification level: named steps (IDENTITY, SELFIE, PROOF_OF_RESIDENCE, QUESTIONNAIRE) and doc types."""

    __tablename__ = "sumsub_levels"
    name: Mapped[str] = mapped_column(String(128), primary_key=True)
    doc_sets: Mapped[list[Any]] = mapped_column(JSON)
    description: Mapped[str] = mapped_column(Text, default="")


class Applicant(Base):
    __tablename__ = "sumsub_applicants"
    __table_args__ = (UniqueConstraint("client_id", "external_user_id", name="uq_applicant_external_id"),)
    id: Mapped[str] = mapped_column(String(24), primary_key=True)
    client_id: Mapped[str] = mapped_column(ForeignKey("sumsub_clients.client_id"), index=True)
    external_user_id: Mapped[str] = mapped_column(String(256))
    inspection_id: Mapped[str] = mapped_column(String(24))
    level_name: Mapped[str] = mapped_column(String(128))
    type: Mapped[str] = mapped_column(String(16), default="individual")
    email: Mapped[str | None] = mapped_column(String(320), nullable=True)
    phone: Mapped[str | None] = mapped_column(String(64), nullable=True)
    lang: Mapped[str | None] = mapped_column(String(16), nullable=True)
    info: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    fixed_info: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    review: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # Sumsub's own step results, keyed by step type (IDENTITY, SELFIE, ...), as in /requiredIdDocsStatus.
    steps: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    questionnaires: Mapped[list[Any]] = mapped_column(JSON, default=list)
    active: Mapped[int] = mapped_column(Integer, default=1)
    source_applicant_id: Mapped[str | None] = mapped_column(String(24), nullable=True)
    reuse_scope: Mapped[str | None] = mapped_column(String(64), nullable=True)
    created_at: Mapped[float] = mapped_column(Float)


class IdDoc(Base):
    """One uploaded image of an ID document (a side); `X-Image-Id` is its id."""

    __tablename__ = "sumsub_id_docs"
    image_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    applicant_id: Mapped[str] = mapped_column(ForeignKey("sumsub_applicants.id"), index=True)
    id_doc_type: Mapped[str] = mapped_column(String(64))
    id_doc_sub_type: Mapped[str | None] = mapped_column(String(64), nullable=True)
    country: Mapped[str | None] = mapped_column(String(3), nullable=True)
    meta: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    file_name: Mapped[str | None] = mapped_column(String(256), nullable=True)
    content_type: Mapped[str | None] = mapped_column(String(128), nullable=True)
    content: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[float] = mapped_column(Float)


class ShareToken(Base):
    """A single-use share token. `redeemed_at` flips from NULL exactly once (a conditional UPDATE)."""

    __tablename__ = "sumsub_share_tokens"
    __table_args__ = (Index("ix_share_tokens_applicant", "applicant_id"),)
    token: Mapped[str] = mapped_column(String(1024), primary_key=True)
    donor_client_id: Mapped[str] = mapped_column(ForeignKey("sumsub_clients.client_id"))
    applicant_id: Mapped[str] = mapped_column(ForeignKey("sumsub_applicants.id"))
    for_client_id: Mapped[str] = mapped_column(String(128))
    ttl_seconds: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[float] = mapped_column(Float)
    expires_at: Mapped[float] = mapped_column(Float)
    redeemed_at: Mapped[float | None] = mapped_column(Float, nullable=True)
    redeemed_by: Mapped[str | None] = mapped_column(String(128), nullable=True)
    redeemed_applicant_id: Mapped[str | None] = mapped_column(String(24), nullable=True)
